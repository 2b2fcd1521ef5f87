import { describe, expect, test } from "bun:test";
import { describeChange, gatherableAddresses, type InterfaceTable, NetworkWatch } from "../../src/whip/network-watch.ts";

const iface = (address: string, family: "IPv4" | "IPv6" = "IPv4", internal = false) => ({ address, family, internal, netmask: "", mac: "", cidr: null }) as never;

describe("network watch", () => {
  test("the addresses ICE would gather on: no loopback, no link-local, sorted, once each", () => {
    const table: InterfaceTable = {
      lo: [iface("127.0.0.1", "IPv4", true), iface("::1", "IPv6", true)],
      eth0: [iface("192.0.2.7"), iface("fe80::1", "IPv6"), iface("2001:db8::7", "IPv6")],
      wlan0: [iface("10.0.0.9"), iface("192.0.2.7")],
    };
    expect(gatherableAddresses(table)).toEqual(["10.0.0.9", "192.0.2.7", "2001:db8::7"]);
  });

  test.each([
    [["10.0.0.9"], ["10.0.0.9"], undefined],
    [["10.0.0.9"], ["10.0.0.9", "192.0.2.7"], "+192.0.2.7"],
    [["10.0.0.9"], ["192.0.2.7"], "+192.0.2.7 -10.0.0.9"],
    [["10.0.0.9"], [], "-10.0.0.9"],
  ])("%j → %j: %p", (before, after, change) => {
    expect(describeChange(before, after)).toBe(change);
  });

  test("reports each change once, as it is seen", () => {
    let table: InterfaceTable = { eth0: [iface("10.0.0.9")] };
    const seen: string[] = [];
    const watch = new NetworkWatch((c) => seen.push(c), () => table);
    watch.check();
    table = { eth0: [iface("10.0.0.9")], wlan0: [iface("192.0.2.7")] };
    watch.check();
    watch.check();
    table = { wlan0: [iface("192.0.2.7")] };
    watch.check();
    expect(seen).toEqual(["+192.0.2.7", "-10.0.0.9"]);
    watch.stop();
  });
});
