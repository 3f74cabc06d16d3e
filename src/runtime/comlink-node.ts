/**
 * comlink's Node adapter (PLATFORM.md: `comlink/dist/umd/node-adapter.js`), typed as what it
 * is at run time: a UMD module whose `module.exports` is the adapter function itself, while
 * its declaration file describes an ES default export.
 */

import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';

/** Wraps a Node MessagePort as a comlink endpoint. */
export const nodeEndpoint = adapter as unknown as (port: MessagePort) => Comlink.Endpoint;

type ThrowHandler = Comlink.TransferHandler<{ value: unknown }, unknown>;
const builtin = Comlink.transferHandlers.get('throw') as ThrowHandler;

/**
 * Errors keep their `code` across the control plane (STYLE.md: match on `code`; comlink's own
 * handler sends only message, name and stack). Installed once per thread by importing this.
 */
Comlink.transferHandlers.set('throw', {
  canHandle: builtin.canHandle,
  serialize({ value }: { value: unknown }) {
    if (value instanceof Error) {
      const { message, name, stack } = value;
      const code = (value as { code?: unknown }).code;
      return [{ isError: true, value: { message, name, stack, code } }, []];
    }
    return [{ isError: false, value }, []];
  },
  deserialize: builtin.deserialize,
} as ThrowHandler);
