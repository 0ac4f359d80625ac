import { Logger } from '@aws-lambda-powertools/logger';

/** One structured JSON logger per function; level from POWERTOOLS_LOG_LEVEL / LOG_LEVEL. */
export const createLogger = (serviceName: string): Logger => new Logger({ serviceName });
export type { Logger };
