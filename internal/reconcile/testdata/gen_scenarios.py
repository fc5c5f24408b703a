#!/usr/bin/env python3
"""Writes testcases/*/input.json. Kept so the scenarios can be read as intent and regenerated;
expected.json is written by `go test -update` and reviewed by hand."""
import json, os

PREFIX = "30340A1B2C"
def epc(n): return f"{PREFIX}{n:014X}"
def item(n, cab="C-01", state="in_cabinet", level="secret", **kw):
    d = {"id": n, "number": f"国保发〔2026〕{n//10+1}号/{n%10+1}", "level": level, "epc": epc(n), "state": state}
    if cab: d["cabinet"] = cab
    d.update(kw)
    return d
def tag(n, passes, of=5, ant=(1,), rssi=-52.0, e=None):
    return {"epc": e or epc(n), "antennas": list(ant), "rssi": rssi, "reads": passes*2, "passes": passes,
            "first": "2026-11-26T18:01:00Z", "last": "2026-11-26T18:01:40Z"}
def report(tags, cab="C-01", rnd="n1", start="2026-11-26T18:01:00Z", end="2026-11-26T18:01:45Z", passes=5, complete=True, confirm=False, antennas=None):
    r = {"agent": "agent-a", "cabinet": cab, "round": rnd, "start": start, "end": end, "passes": passes, "complete": complete,
         "antennas": antennas or [{"port": 1, "ok": True}, {"port": 2, "ok": True}], "tags": tags}
    if confirm: r["confirm"] = True
    return r
# a spread of pass counts averaging about 60 % of 5 passes, as field.md reports for paper stacks
SPREAD = [3, 2, 4, 3, 3, 2, 4, 3, 5, 1, 3, 4, 2, 3, 3, 4, 2, 3, 3, 4]
def cabinet(ids, skip=(), spread=SPREAD):
    return [tag(n, spread[i % len(spread)]) for i, n in enumerate(ids) if n not in skip]

ids = list(range(1, 21))
base = [item(n) for n in ids]
S = {}

S["read_on_60pct_of_passes"] = {
    "description": "20 items, every tag read on only about 60 % of 5 passes (item 1 on exactly 3 of 5): all present, no finding, and the round's fitted read rate is about 0.6.",
    "our_prefix": PREFIX, "items": base,
    "steps": [{"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids))}]}

S["missed_once_then_seen_in_confirmation"] = {
    "description": "item 7 is not read in the nightly round: suspected missing and a confirming round asked for; the confirming round reads it, so the finding clears and nothing is left open.",
    "our_prefix": PREFIX, "items": base,
    "steps": [
        {"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids, skip={7}))},
        {"now": "2026-11-26T18:03:00Z", "report": report(cabinet(ids), rnd="c1", start="2026-11-26T18:02:05Z", end="2026-11-26T18:02:50Z", confirm=True)}]}

S["missing_confirmed_by_second_round"] = {
    "description": "item 12 (top secret), read on 80 % of the passes of its last 30 nights, is gone: the first round makes it suspected, the same round delivered again adds nothing, the confirming round makes it confirmed with the combined unread chance shown.",
    "our_prefix": PREFIX, "history": {epc(12): {"passes": 150, "read": 120}}, "items": [item(n, level="top-secret" if n == 12 else "secret") for n in ids],
    "steps": [
        {"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids, skip={12}))},
        {"now": "2026-11-26T18:02:01Z", "report": report(cabinet(ids, skip={12}))},
        {"now": "2026-11-26T18:03:00Z", "report": report(cabinet(ids, skip={12}), rnd="c1", start="2026-11-26T18:02:05Z", end="2026-11-26T18:02:50Z", confirm=True)}]}

S["cross_read_from_neighbouring_cabinet"] = {
    "description": "cabinet C-01 reads item 31 of the next cabinet C-02 on one of five passes, weakly, on its side antenna; C-02's own round read it on every pass: a cross-read, no finding.",
    "our_prefix": PREFIX, "items": base + [item(31, cab="C-02")],
    "steps": [{"now": "2026-11-26T18:02:00Z",
               "report": report(cabinet(ids) + [tag(31, 1, ant=(2,), rssi=-74.5)]),
               "elsewhere": {epc(31): {"cabinet": "C-02", "round": "n1-c02", "at": "2026-11-26T18:01:30Z", "passes": 5, "of": 5, "rssi": -48.0}}}]}

S["misplaced_item"] = {
    "description": "item 32 is registered in C-02 but read firmly in C-01 (five of five passes) and not in C-02: misplaced, confirmed. C-02's round is the second step: it does not call item 32 missing, because it was firmly read next door.",
    "our_prefix": PREFIX, "items": base + [item(32, cab="C-02"), item(33, cab="C-02")],
    "steps": [
        {"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids) + [tag(32, 5)])},
        {"now": "2026-11-26T18:02:30Z", "report": report([tag(33, 5)], cab="C-02", rnd="n1-c02"),
         "elsewhere": {epc(32): {"cabinet": "C-01", "round": "n1", "at": "2026-11-26T18:01:45Z", "passes": 5, "of": 5, "rssi": -50.0}}}]}

S["door_opened_mid_round"] = {
    "description": "the door of C-01 opens during the round and item 5 is not read: the round is incomplete, nothing is called missing, a new round is asked for.",
    "our_prefix": PREFIX, "items": base,
    "steps": [{"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids, skip={5})),
               "doors": [{"cabinet": "C-01", "open": "2026-11-26T18:01:20Z", "close": "2026-11-26T18:01:35Z"}]}]}

S["antenna_fault"] = {
    "description": "antenna 2 of C-01 fails during the round and items 3 and 4 go unread: inventory_incomplete, no missing.",
    "our_prefix": PREFIX, "items": base,
    "steps": [{"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids, skip={3, 4}), antennas=[{"port": 1, "ok": True}, {"port": 2, "ok": False, "fault": "reflected power too high"}])}]}

S["destroyed_item_tag_seen"] = {
    "description": "item 40 was destroyed in an approved batch; its tag is read in C-01 on four passes: destroyed_seen, confirmed.",
    "our_prefix": PREFIX, "items": base + [item(40, cab="", state="destroyed", level="top-secret", last_event={"action": "destroy", "at": "2026-10-30T03:00:00Z", "actor": "custodian1"})],
    "steps": [{"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids) + [tag(40, 4)])}]}

S["unknown_tags_ours_and_foreign"] = {
    "description": "C-01 reads a tag with our company prefix that is in no register entry, and a foreign tag: two unknown_tag findings, ours told apart from foreign.",
    "our_prefix": PREFIX, "items": base,
    "steps": [{"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids) + [tag(0, 3, e=epc(999)), tag(0, 4, e="E28011606000020A1B2C3D4E")])}]}

S["unrecorded_return"] = {
    "description": "item 50 is checked out to holder zhangsan but read in C-01: unrecorded_return.",
    "our_prefix": PREFIX, "items": base + [item(50, cab="", state="checked_out", holder="zhangsan", due="2026-11-30T10:00:00Z")],
    "steps": [{"now": "2026-11-26T18:02:00Z", "report": report(cabinet(ids) + [tag(50, 3)])}]}

S["unrecorded_removal_after_grace"] = {
    "description": "item 9 has been read on 80 % of the passes of its last 30 nights; the door opens at 14:00 and closes at 14:01; the round after it does not read item 9. Within the 15-minute grace nothing is raised (a recheck time is given); at 14:17, still no checkout: unrecorded_removal, suspected; the confirming round (after which the door cycle is no longer in the window) makes it confirmed and keeps the door as evidence.",
    "our_prefix": PREFIX, "history": {epc(9): {"passes": 150, "read": 120}}, "items": base,
    "steps": [
        {"now": "2026-11-26T06:02:30Z", "report": report(cabinet(ids, skip={9}), rnd="d1", start="2026-11-26T06:01:30Z", end="2026-11-26T06:02:15Z"),
         "doors": [{"cabinet": "C-01", "open": "2026-11-26T06:00:00Z", "close": "2026-11-26T06:01:00Z", "by": "badge-0042"}]},
        {"now": "2026-11-26T06:16:01Z", "report": report(cabinet(ids, skip={9}), rnd="d1", start="2026-11-26T06:01:30Z", end="2026-11-26T06:02:15Z"),
         "doors": [{"cabinet": "C-01", "open": "2026-11-26T06:00:00Z", "close": "2026-11-26T06:01:00Z", "by": "badge-0042"}]},
        {"now": "2026-11-26T06:17:30Z", "report": report(cabinet(ids, skip={9}), rnd="c2", start="2026-11-26T06:16:10Z", end="2026-11-26T06:16:55Z", confirm=True)}]}

S["checkout_within_grace"] = {
    "description": "the door cycle takes item 9 out and the custodian records the checkout at 14:05, within the grace: the snapshot then shows it checked out and nothing is raised at all.",
    "our_prefix": PREFIX, "history": {epc(9): {"passes": 150, "read": 120}}, "items": base,
    "steps": [
        {"now": "2026-11-26T06:02:30Z", "report": report(cabinet(ids, skip={9}), rnd="d1", start="2026-11-26T06:01:30Z", end="2026-11-26T06:02:15Z"),
         "doors": [{"cabinet": "C-01", "open": "2026-11-26T06:00:00Z", "close": "2026-11-26T06:01:00Z"}]},
        {"now": "2026-11-26T06:16:01Z", "report": report(cabinet(ids, skip={9}), rnd="d1", start="2026-11-26T06:01:30Z", end="2026-11-26T06:02:15Z"),
         "doors": [{"cabinet": "C-01", "open": "2026-11-26T06:00:00Z", "close": "2026-11-26T06:01:00Z"}],
         "items": [item(n) if n != 9 else item(9, cab="", state="checked_out", holder="lisi", due="2026-11-27T06:00:00Z", last_event={"action": "check_out", "at": "2026-11-26T06:05:00Z", "actor": "custodian1"}) for n in ids]}]}

S["agent_offline_at_inventory_time"] = {
    "description": "agent-b (cabinets C-03, C-04) went offline at 01:30 Beijing time; the nightly inventory starts at 02:00 with a deadline of 03:00. C-01 and C-02 report; C-03 and C-04 do not: agent_offline for agent-b and inventory_missed for its two cabinets with the reason shown.",
    "our_prefix": PREFIX, "items": base,
    "site": {"now": "2026-11-25T19:00:00Z", "tz": "Asia/Shanghai", "start": "2026-11-25T18:00:00Z", "deadline": "2026-11-25T19:00:00Z",
             "work_from": "08:30", "work_to": "18:00",
             "cabinets": [{"cabinet": "C-01", "agent": "agent-a", "reported": "2026-11-25T18:02:00Z"}, {"cabinet": "C-02", "agent": "agent-a", "reported": "2026-11-25T18:03:10Z"},
                          {"cabinet": "C-03", "agent": "agent-b"}, {"cabinet": "C-04", "agent": "agent-b", "reported": "2026-11-24T18:02:00Z"}],
             "agents": [{"agent": "agent-a", "online": True, "since": "2026-11-20T00:00:00Z", "cabinets": ["C-01", "C-02"]},
                        {"agent": "agent-b", "online": False, "since": "2026-11-25T17:30:00Z", "cabinets": ["C-03", "C-04"]}]}}

S["overdue_loan"] = {
    "description": "item 60 was due back at 17:00 Beijing time yesterday; item 61 is due tomorrow: one overdue finding, naming the holder (internal only).",
    "our_prefix": PREFIX, "items": base + [item(60, cab="", state="checked_out", holder="wangwu", due="2026-11-25T09:00:00Z", last_event={"action": "check_out", "at": "2026-11-24T02:00:00Z", "actor": "custodian1"}),
                                            item(61, cab="", state="checked_out", holder="zhaoliu", due="2026-11-27T09:00:00Z")],
    "site": {"now": "2026-11-26T01:00:00Z", "tz": "Asia/Shanghai", "start": "2026-11-25T18:00:00Z", "deadline": "2026-11-25T19:00:00Z", "work_from": "08:30", "work_to": "18:00",
             "cabinets": [], "agents": []}}

S["door_after_hours_and_left_open"] = {
    "description": "C-01 is opened at 23:10 Beijing time and closed; C-02 is opened at 10:00 and still open at 10:05; C-03 opened at 10:04:30 (30 s, under the one-minute limit): door_after_hours for C-01, door_left_open for C-02, nothing for C-03.",
    "our_prefix": PREFIX, "items": base,
    "site": {"now": "2026-11-26T02:05:00Z", "tz": "Asia/Shanghai", "start": "2026-11-25T18:00:00Z", "deadline": "2026-11-25T19:00:00Z", "work_from": "08:30", "work_to": "18:00",
             "cabinets": [], "agents": [],
             "doors": [{"cabinet": "C-01", "open": "2026-11-25T15:10:00Z", "close": "2026-11-25T15:12:00Z"},
                       {"cabinet": "C-02", "open": "2026-11-26T02:00:00Z"},
                       {"cabinet": "C-03", "open": "2026-11-26T02:04:30Z"}]}}

here = os.path.dirname(os.path.abspath(__file__))
for name, sc in S.items():
    d = os.path.join(here, "..", "testcases", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "input.json"), "w") as f:
        json.dump(sc, f, ensure_ascii=False, indent=1)
        f.write("\n")
