import { Inject, Injectable } from '@nestjs/common';
import ipaddr from 'ipaddr.js';
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';

/** The hosts allowed to resolve inward (PUSH_ALLOWED_HOSTS), for the policy's provider. */
export const PUSH_ALLOWED_HOSTS = Symbol('push:allowed-hosts');

/**
 * Where a push may go: a subscription's endpoint is chosen by whoever holds a
 * token, so without this policy it would make the server send requests into
 * the operator's own network. Only https, and only hosts whose every address
 * is public unicast, unless the host is listed in PUSH_ALLOWED_HOSTS. The
 * addresses are checked when a subscription is stored and again on every
 * connection (a name may resolve elsewhere by then).
 */
@Injectable()
export class EndpointPolicy {
  private readonly allowedHosts: ReadonlySet<string>;

  constructor(@Inject(PUSH_ALLOWED_HOSTS) allowedHosts: readonly string[]) {
    this.allowedHosts = new Set(allowedHosts.map((host) => host.toLowerCase()));
  }

  /** Why an endpoint is refused, or undefined when it may be used. */
  async refusal(endpoint: string): Promise<string | undefined> {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return 'not a URL';
    }
    if (url.protocol !== 'https:') return 'only https endpoints are accepted';
    if (url.username || url.password) return 'an endpoint carries no credentials';
    const host = hostOf(url);
    if (this.allowedHosts.has(host)) return undefined;
    let addresses: string[];
    try {
      addresses = ipaddr.isValid(host) ? [host] : await resolveAll(host);
    } catch {
      return 'the endpoint host does not resolve';
    }
    if (addresses.length === 0) return 'the endpoint host does not resolve';
    if (!addresses.every(isPublicAddress))
      return 'the endpoint resolves to a loopback, private or link-local address';
    return undefined;
  }

  /** A `lookup` for the push agent: refuses, at connect time, what `refusal` refuses. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const allowed = this.allowedHosts.has(hostname.toLowerCase());
      if (!allowed && !addresses.every((entry) => isPublicAddress(entry.address))) {
        const refused = Object.assign(new Error('push endpoint address refused'), {
          code: 'EPUSHADDRESS',
        });
        return callback(refused, '', 0);
      }
      if (options.all) return (callback as unknown as AllCallback)(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

type AllCallback = (error: Error | null, addresses: dns.LookupAddress[]) => void;

/** The URL's host without IPv6 brackets, lower-cased. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

async function resolveAll(host: string): Promise<string[]> {
  const entries = await dns.promises.lookup(host, { all: true });
  return entries.map((entry) => entry.address);
}

/**
 * Public unicast only: loopback, private (RFC 1918, unique local),
 * link-local, carrier-grade NAT, multicast, reserved and the IPv6 forms that
 * embed an IPv4 address are refused (an IPv4-mapped one is judged as IPv4).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
  }
  return parsed.range() === 'unicast';
}
