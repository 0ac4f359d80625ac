/**
 * X-Ray tracing through Powertools, off unless the stack was deployed with `-c prisme:tracing=true`
 * (which sets `PRISME_TRACING` and active tracing on every function): a handler's invocation becomes a
 * segment, each AWS call a subsegment, and the SQS call carries the trace header, so a trace follows an
 * event from ingest through the queue to the processor's profile write.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

let tracer: Tracer | undefined;

/** The container's tracer; made on first use, enabled or not as the first caller says. */
export function tracerOf(enabled: boolean): Tracer {
  tracer ??= new Tracer({ enabled });
  return tracer;
}

/** The handler as it is when tracing is off; wrapped so each invocation is a traced segment when on. */
export function traced<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  enabled: boolean,
): (event: E, context: Context) => Promise<R> {
  if (!enabled) return handler;
  return middy<E, R>()
    .use(captureLambdaHandler(tracerOf(true)))
    .handler((event, context) => handler(event, context));
}
