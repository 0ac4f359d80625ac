/**
 * A durable queue with SQS semantics for the local runtime: at-least-once
 * delivery, visibility timeout, receive counts, partial deletes, and a redrive
 * to a dead-letter queue after too many receives.
 *
 * State lives in memory and in an append-only journal. A send resolves only
 * after its records are written and fdatasync'd, so a message acknowledged to
 * a caller survives `kill -9`; concurrent sends share one sync (group commit).
 * In-flight state is not journaled: after a restart every undeleted message is
 * visible again, exactly as if its visibility timeout had expired.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
}

export interface StoredMessage {
  id: string;
  body: string;
  attributes: Record<string, MessageAttribute>;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
}

export interface ReceivedMessage extends StoredMessage {
  receiptHandle: string;
}

export interface QueueOptions {
  visibilityTimeoutMs: number;
  /** Receives after which a message is moved to `deadLetter` instead of delivered again. */
  maxReceiveCount?: number;
  deadLetter?: DurableQueue;
}

type JournalRecord =
  | { s: { id: string; body: string; attributes: Record<string, MessageAttribute>; sentAt: number } }
  | { r: [id: string, count: number, first: number] }
  | { d: string };

const COMPACT_AFTER_DELETES = 20_000;

export class DurableQueue {
  private readonly messages = new Map<string, StoredMessage>();
  /** Ids ready for delivery, oldest first; may hold ids deleted since (skipped lazily). */
  private ready: string[] = [];
  private readyHead = 0;
  private readonly inFlight = new Map<string, { visibleAt: number; receipt: string }>();
  private readonly receipts = new Map<string, string>();
  private pendingWrites: string[] = [];
  private waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private flushing?: Promise<void>;
  private deletesSinceCompaction = 0;
  private compactRequested = false;
  private compactWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly name: string,
    private readonly file: string,
    private handle: FileHandle,
    private readonly options: QueueOptions,
  ) {}

  static async open(name: string, file: string, options: QueueOptions): Promise<DurableQueue> {
    const queue = new DurableQueue(name, file, undefined as unknown as FileHandle, options);
    if (existsSync(file)) queue.replay(readFileSync(file, 'utf8'));
    queue.compactSync();
    queue.handle = await open(file, 'a');
    return queue;
  }

  private replay(journal: string): void {
    for (const line of journal.split('\n')) {
      if (!line) continue;
      let record: JournalRecord;
      try {
        record = JSON.parse(line) as JournalRecord;
      } catch {
        continue; // a line torn by a crash mid-write was never acknowledged
      }
      if ('s' in record) this.messages.set(record.s.id, { ...record.s, receiveCount: 0 });
      else if ('r' in record) {
        const message = this.messages.get(record.r[0]);
        if (message) {
          message.receiveCount = record.r[1];
          message.firstReceivedAt ??= record.r[2];
        }
      } else this.messages.delete(record.d);
    }
    this.ready = [...this.messages.keys()];
  }

  /** Rewrites the journal with live messages only, atomically (write, sync, rename). */
  private compactSync(): void {
    const temp = `${this.file}.compact`;
    const fd = openSync(temp, 'w');
    try {
      for (const m of this.messages.values()) {
        let lines = `${JSON.stringify({ s: { id: m.id, body: m.body, attributes: m.attributes, sentAt: m.sentAt } })}\n`;
        if (m.receiveCount > 0) lines += `${JSON.stringify({ r: [m.id, m.receiveCount, m.firstReceivedAt ?? m.sentAt] })}\n`;
        writeSync(fd, lines);
      }
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.file);
    this.deletesSinceCompaction = 0;
  }

  /** Resolves once every message is durable; the ids are SQS-style message ids. */
  async send(entries: ReadonlyArray<{ body: string; attributes?: Record<string, MessageAttribute>; delayMs?: number }>): Promise<string[]> {
    const sentAt = Date.now();
    const ids: string[] = [];
    for (const entry of entries) {
      const message: StoredMessage = { id: randomUUID(), body: entry.body, attributes: entry.attributes ?? {}, sentAt, receiveCount: 0 };
      ids.push(message.id);
      // Known at once (so a compaction keeps it), deliverable only once durable.
      this.messages.set(message.id, message);
      this.pendingWrites.push(JSON.stringify({ s: { id: message.id, body: message.body, attributes: message.attributes, sentAt } }));
    }
    try {
      await this.sync();
    } catch (error) {
      for (const id of ids) this.messages.delete(id);
      throw error;
    }
    entries.forEach((entry, i) => {
      // A delayed message waits like an in-flight one, with no receipt to delete it by.
      if (entry.delayMs) this.inFlight.set(ids[i]!, { visibleAt: sentAt + entry.delayMs, receipt: '' });
      else this.ready.push(ids[i]!);
    });
    for (const listener of this.listeners) listener();
    return ids;
  }

  private sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** The journal's only writer: appends, syncs, and compacts between two flushes. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pendingWrites.length > 0 || this.waiting.length > 0 || this.compactRequested) {
        const lines = this.pendingWrites;
        const waiters = this.waiting;
        this.pendingWrites = [];
        this.waiting = [];
        try {
          if (lines.length > 0) await this.handle.write(`${lines.join('\n')}\n`);
          if (waiters.length > 0) await this.handle.datasync();
          for (const waiter of waiters) waiter.resolve();
        } catch (error) {
          for (const waiter of waiters) waiter.reject(error as Error);
        }
        if (this.compactRequested) {
          this.compactRequested = false;
          const compacted = this.compactWaiters;
          this.compactWaiters = [];
          await this.handle.close();
          try {
            this.compactSync();
            for (const waiter of compacted) waiter.resolve();
          } catch (error) {
            for (const waiter of compacted) waiter.reject(error as Error);
          } finally {
            this.handle = await open(this.file, 'a');
          }
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Up to `max` visible messages, made invisible for the visibility timeout. */
  receive(max: number, visibilityTimeoutMs = this.options.visibilityTimeoutMs): ReceivedMessage[] {
    const now = Date.now();
    this.requeueExpired(now);
    const received: ReceivedMessage[] = [];
    const redrive: StoredMessage[] = [];
    while (received.length < max && this.readyHead < this.ready.length) {
      const id = this.ready[this.readyHead++]!;
      const message = this.messages.get(id);
      if (!message || this.inFlight.has(id)) continue;
      if (this.options.deadLetter && this.options.maxReceiveCount !== undefined && message.receiveCount >= this.options.maxReceiveCount) {
        redrive.push(message);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      const receipt = `${id}.${randomUUID()}`;
      this.inFlight.set(id, { visibleAt: now + visibilityTimeoutMs, receipt });
      this.receipts.set(receipt, id);
      this.pendingWrites.push(JSON.stringify({ r: [id, message.receiveCount, message.firstReceivedAt] }));
      received.push({ ...message, receiptHandle: receipt });
    }
    if (this.readyHead > 10_000 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    if (redrive.length > 0) void this.moveToDeadLetter(redrive);
    return received;
  }

  private async moveToDeadLetter(messages: StoredMessage[]): Promise<void> {
    for (const message of messages) this.inFlight.set(message.id, { visibleAt: Infinity, receipt: '' });
    await this.options.deadLetter!.send(
      messages.map((m) => ({
        body: m.body,
        attributes: { ...m.attributes, reason: { DataType: 'String', StringValue: `exceeded ${this.options.maxReceiveCount} receives` } },
      })),
    );
    for (const message of messages) this.forget(message.id);
  }

  private requeueExpired(now: number): void {
    for (const [id, flight] of this.inFlight) {
      if (flight.visibleAt > now) continue;
      this.inFlight.delete(id);
      this.receipts.delete(flight.receipt);
      this.ready.push(id);
    }
  }

  /** Deletes by receipt handle; false for an unknown or stale handle (SQS ignores those too). */
  delete(receiptHandle: string): boolean {
    const id = this.receipts.get(receiptHandle);
    if (!id) return false;
    this.forget(id);
    return true;
  }

  private forget(id: string): void {
    const flight = this.inFlight.get(id);
    if (flight) this.receipts.delete(flight.receipt);
    this.inFlight.delete(id);
    this.messages.delete(id);
    this.pendingWrites.push(JSON.stringify({ d: id }));
    if (++this.deletesSinceCompaction >= COMPACT_AFTER_DELETES && this.deletesSinceCompaction > this.messages.size) {
      this.compactRequested = true;
    }
    // Deletes need no fsync: replaying a lost delete only redelivers, which consumers already tolerate.
    this.flushing ??= this.flushLoop();
  }

  /**
   * Passes every live message's body through `edit` (its new body, or undefined to drop it), then
   * compacts the journal (write, sync, atomic rename), so what was edited out is on disk nowhere.
   * In-flight messages keep their receipts: a rewritten one is delivered rewritten if it comes back,
   * a dropped one's delete is ignored like a stale one.
   */
  async rewrite(edit: (body: string) => Promise<string | undefined>): Promise<{ rewritten: number; dropped: number }> {
    const result = { rewritten: 0, dropped: 0 };
    for (const message of [...this.messages.values()]) {
      const body = await edit(message.body);
      if (!this.messages.has(message.id) || body === message.body) continue;
      if (body === undefined) {
        this.forget(message.id);
        result.dropped++;
      } else {
        message.body = body;
        result.rewritten++;
      }
    }
    await new Promise<void>((resolve, reject) => {
      this.compactWaiters.push({ resolve, reject });
      this.compactRequested = true;
      this.flushing ??= this.flushLoop();
    });
    return result;
  }

  /** How long a received message stays invisible unless deleted or changed. */
  get visibilityTimeoutMs(): number {
    return this.options.visibilityTimeoutMs;
  }

  changeVisibility(receiptHandle: string, timeoutMs: number): boolean {
    const id = this.receipts.get(receiptHandle);
    const flight = id ? this.inFlight.get(id) : undefined;
    if (!flight) return false;
    flight.visibleAt = Date.now() + timeoutMs;
    return true;
  }

  /** Messages not yet deleted, and how many of them are in flight. */
  stats(): { messages: number; inFlight: number } {
    return { messages: this.messages.size, inFlight: this.inFlight.size };
  }

  /** Called whenever new messages become visible. */
  onMessage(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.handle.close();
  }
}
