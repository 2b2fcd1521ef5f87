import { describe, expect, test } from "bun:test";
import { CLOSED_BY_ENDPOINT, Liveness, type PathActivity } from "../../src/whip/liveness.ts";

/** Feed one sample a second; returns the verdict's reason at each second (undefined: alive). */
function run(samples: Partial<PathActivity>[]): (string | undefined)[] {
  const judge = new Liveness(0);
  let last: PathActivity = { received: 0, steady: 0, unreachable: 0, state: "connected" };
  return samples.map((s, i) => {
    last = { ...last, ...s };
    const v = judge.observe(last, (i + 1) * 1000);
    return v.alive ? undefined : v.reason;
  });
}

describe("liveness", () => {
  test("an endpoint sending RTCP each second stays alive", () => {
    expect(run(Array.from({ length: 30 }, (_, i) => ({ received: i + 1, steady: i + 1 })))).toEqual(Array(30).fill(undefined));
  });

  test("RTCP stops: dead after 5 s of silence, not 30", () => {
    const talk = Array.from({ length: 3 }, (_, i) => ({ received: i + 1, steady: i + 1 }));
    const silent = Array.from({ length: 6 }, () => ({}));
    const verdicts = run([...talk, ...silent]);
    expect(verdicts.slice(0, 7)).toEqual(Array(7).fill(undefined));
    expect(verdicts[7]).toBe("no RTCP for 5 s");
  });

  test("an endpoint that never sends RTCP is judged by consent answers alone: 12 s", () => {
    const consent = [{ received: 1 }, {}, {}, {}, {}, { received: 2 }];
    const silent = Array.from({ length: 12 }, () => ({}));
    const verdicts = run([...consent, ...silent]);
    const first = verdicts.findIndex((v) => v !== undefined);
    expect(first).toBe(5 + 12);
    expect(verdicts[first]).toBe("no answer to ICE consent checks for 12 s");
  });

  test("ICMP unreachable (the server is gone): 2 s of silence is enough", () => {
    const verdicts = run([{ received: 1, steady: 1 }, { unreachable: 3 }, { unreachable: 9 }, {}]);
    expect(verdicts).toEqual([undefined, undefined, "endpoint unreachable, nothing from it for 2 s", "endpoint unreachable, nothing from it for 3 s"]);
  });

  test("ICMP reports while the endpoint still answers are not death (a stale ICE candidate's)", () => {
    const verdicts = run(Array.from({ length: 10 }, (_, i) => ({ received: i + 1, steady: i + 1, unreachable: i })));
    expect(verdicts).toEqual(Array(10).fill(undefined));
  });

  test("failed and closed are judged at once", () => {
    expect(run([{ received: 1, steady: 1 }, { state: "failed" }])[1]).toBe("ICE failed");
    expect(run([{ received: 1, steady: 1 }, { state: "closed" }])[1]).toBe(CLOSED_BY_ENDPOINT);
  });

  test("a relay's publication: the steady traffic is media, and says so", () => {
    const judge = new Liveness(0, "no media");
    judge.observe({ received: 100, steady: 100, unreachable: 0, state: "connected" }, 1000);
    expect(judge.observe({ received: 100, steady: 100, unreachable: 0, state: "connected" }, 6000)).toEqual({ alive: false, reason: "no media for 5 s" });
  });
});
