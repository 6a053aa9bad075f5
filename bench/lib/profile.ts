/** A V8 CPU profile as `--cpu-prof` writes it (the fields read here). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time not idle, in µs. */
  busyUs: number;
  /** Self time by owner (a package, a file of ours, Node's internals, V8's own entries), largest first. */
  byOwner: [string, number][];
  /** Self time by function ("name owner:line"), largest first. */
  byFunction: [string, number][];
}

/** Who owns a frame: a package, a file of ours, Node itself, or V8's own entry. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/((?:dist\/)?(?:src|packages\/[^/]+\/src)\/.*)$/.exec(url);
  return ours ? ours[1].replace(/^dist\//, '') : url;
}

/** Self time summed by owner and by function; idle time left out of both. */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, index) => {
    const deltaUs = profile.timeDeltas[index] ?? 0;
    const frame = frames.get(id);
    if (!frame || frame.functionName === '(idle)') return;
    const owner = ownerOf(frame.url, frame.functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + deltaUs);
    const name = `${frame.functionName || '(anonymous)'} ${owner}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + deltaUs);
    busyUs += deltaUs;
  });
  const sorted = (entries: Map<string, number>) => [...entries].sort((a, b) => b[1] - a[1]);
  return { busyUs, byOwner: sorted(byOwner), byFunction: sorted(byFunction) };
}
