import type { Redis } from 'ioredis';

/**
 * Makes a connection send the commands of one event-loop turn (an I/O
 * callback and the promise continuations it runs) in one write, each as it
 * is issued: its socket is corked at the turn's first command and uncorked
 * on the next tick. A batch that settles (an insert, a token read) issues
 * its requests' next commands in one turn, so they leave together.
 *
 * In place of ioredis's auto-pipelining, which holds a turn's commands until
 * setImmediate and keeps one pipeline in flight: a command waited for the
 * rest of the poll phase and for the replies of the pipeline before it, and
 * each write built a Pipeline object. Measured side by side (BENCHMARKS.md,
 * "Decisions the measurements justify"); with neither, a write per command,
 * the median answer to a send was longer.
 */
export function writeOncePerTurn(redis: Redis): void {
  const sendCommand = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    // Undefined before the first connection; a reconnect brings a new socket.
    const socket = redis.stream as Redis['stream'] | undefined;
    // Corked already: an earlier command of this turn has the uncork scheduled.
    if (socket && socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    return sendCommand(command, stream);
  };
}
