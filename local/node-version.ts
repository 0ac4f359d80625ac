/**
 * On Node 20 the AWS SDK prints a nine-line warning in every process that makes a client: its releases
 * published after the first week of January 2027 will need Node 22. The release package-lock.json pins
 * runs on Node 20 (Prisme's Lambdas run Node 22 already), so the local tools say it once, in a line,
 * where it matters (npm start), and keep the SDK's warning out of every command's output.
 */
export function sdkNodeNotice(): string | undefined {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) return undefined;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return `Node ${process.versions.node}: fine with the AWS SDK release package-lock.json pins; its releases from January 2027 need Node 22`;
}
