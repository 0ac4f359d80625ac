/**
 * The base of every error Prisme raises on purpose, in the domain or around it: its name is its class's
 * (kept through minification), so logs and DLQ reasons say what went wrong.
 */
export class PrismeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
