/** The end of an exhaustive switch: the compiler proves it is never reached, the throw says so if it is. */
export function assertUnreachable(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
