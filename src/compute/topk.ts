/**
 * Bounded top-k with the same order as the native core: higher score first, equal scores by the
 * lower id. `score` is the ranking value (for 'l2' the caller passes the negated distance).
 */
export class TopK<Id extends number | bigint> {
  private readonly s: number[] = [];
  private readonly id: Id[] = [];

  constructor(private readonly k: number) {}

  private static better<I extends number | bigint>(sa: number, ia: I, sb: number, ib: I): boolean {
    return sa > sb || (sa === sb && ia < ib);
  }

  push(score: number, id: Id): void {
    if (Number.isNaN(score)) return;
    const { s, k } = this;
    if (s.length < k) {
      let i = s.length;
      s.push(score);
      this.id.push(id);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopK.better(s[p]!, this.id[p]!, score, id)) break;
        s[i] = s[p]!;
        this.id[i] = this.id[p]!;
        i = p;
      }
      s[i] = score;
      this.id[i] = id;
      return;
    }
    if (!TopK.better(score, id, s[0]!, this.id[0]!)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      let ws = score;
      let wi = id;
      if (l < k && TopK.better(ws, wi, s[l]!, this.id[l]!)) {
        w = l;
        ws = s[l]!;
        wi = this.id[l]!;
      }
      if (r < k && TopK.better(ws, wi, s[r]!, this.id[r]!)) w = r;
      if (w === i) break;
      s[i] = s[w]!;
      this.id[i] = this.id[w]!;
      i = w;
    }
    s[i] = score;
    this.id[i] = id;
  }

  /** Entries best first. */
  sorted(): Array<[number, Id]> {
    const pairs = this.s.map((v, i) => [v, this.id[i]!] as [number, Id]);
    return pairs.sort((a, b) =>
      TopK.better(a[0], a[1], b[0], b[1]) ? -1 : TopK.better(b[0], b[1], a[0], a[1]) ? 1 : 0,
    );
  }
}
