import ipaddr from 'ipaddr.js';
import type { Env } from '../config/env.js';

type TrustProxyFunction = (address: string, hop: number) => boolean;

/**
 * fastify's `trustProxy` for TRUST_PROXY. A list of proxy addresses is passed
 * through (fastify compiles it with proxy-addr). A hop count becomes a
 * function, because fastify treats a bare number as "trust nothing"; it
 * trusts the socket's peer and the next `hops - 1` entries of
 * X-Forwarded-For from the right, so `request.ip` is the entry the outermost
 * proxy appended, never one the client wrote to its left.
 */
export function fastifyTrustProxy(
  setting: Env['TRUST_PROXY'],
): false | string[] | TrustProxyFunction {
  if (typeof setting !== 'number') return setting;
  const hops = setting;
  return (_address, hop) => hop < hops;
}

const IPV6_PREFIX_BYTES = 8;

/**
 * The key a per-address rate limit counts under. One IPv6 subscriber is
 * usually given a whole /64, so counting per IPv6 address would let a client
 * rotate through 2^64 of them: IPv6 is counted per /64. An IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`, what a dual-stack socket reports) is its IPv4.
 */
export function rateLimitAddressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const prefix = parsed.toByteArray().slice(0, IPV6_PREFIX_BYTES);
  const network = ipaddr.fromByteArray([...prefix, ...new Array<number>(8).fill(0)]);
  return `${network.toString()}/64`;
}
