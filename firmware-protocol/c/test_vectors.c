/*
 * Host test of the reference codec: checks every vector of
 * firmware-protocol/vectors/cabinet.vectors (format in cabinet.md §9), the file the Go tests read.
 * Usage: test_vectors <vectors file>. Exit status 0 when every vector passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cabinet.h"

#define MAX_BYTES 512
#define MAX_LINE 2048

static const char *type_name(uint8_t t, char *tmp)
{
    switch (t) {
    case CAB_HELLO: return "hello";
    case CAB_POLL: return "poll";
    case CAB_STATUS: return "status";
    case CAB_LOCK: return "lock";
    case CAB_UNLOCK: return "unlock";
    case CAB_SIGNAL: return "signal";
    case CAB_HELLO_REPLY: return "hello_reply";
    case CAB_POLL_REPLY: return "poll_reply";
    case CAB_STATUS_REPLY: return "status_reply";
    case CAB_LOCK_REPLY: return "lock_reply";
    case CAB_UNLOCK_REPLY: return "unlock_reply";
    case CAB_SIGNAL_REPLY: return "signal_reply";
    case CAB_ERROR: return "error_reply";
    }
    sprintf(tmp, "type_%02X", t);
    return tmp;
}

static const char *code_name(uint8_t c, char *tmp)
{
    static const char *names[] = {"", "unknown_type", "bad_payload", "version_unsupported",
        "not_negotiated", "lock_fault", "door_open", "busy", "tamper_lockout"};
    if (c >= 1 && c <= 8) return names[c];
    sprintf(tmp, "0x%02X", c);
    return tmp;
}

static const char *event_name(uint8_t k)
{
    static const char *names[] = {"", "door_opened", "door_closed", "locked", "unlocked",
        "lock_fault", "tamper", "tamper_cleared", "power_lost", "power_restored", "boot", "overflow"};
    return k <= CAB_EV_OVERFLOW ? names[k] : "?";
}

static int fmt_status(char *out, size_t cap, const cab_status *s)
{
    static const char *door[] = {"closed", "open", "unknown"};
    static const char *lock[] = {"locked", "unlocked", "fault"};
    static const char *flag[] = {"tamper", "mains_lost", "overflow", "not_negotiated"};
    char flags[64] = "";
    int i;
    for (i = 0; i < 4; i++) {
        if (s->flags & (1u << i)) {
            if (flags[0]) strcat(flags, "+");
            strcat(flags, flag[i]);
        }
    }
    if (!flags[0]) strcpy(flags, "none");
    return snprintf(out, cap, "door=%s lock=%s flags=%s unlock_left=%u", door[s->door], lock[s->lock],
        flags, (unsigned)s->unlock_left);
}

/* The canonical text of §9, identical to the Go Frame.String. */
static void canonical(const cab_frame *f, char *out, size_t cap)
{
    cab_msg m;
    char tmp[16], tmp2[16];
    int k;
    if (cab_msg_decode(f, &m) != CAB_OK) {
        snprintf(out, cap, "addr=%02X seq=%02X type=%02X len=%u invalid", f->addr, f->seq, f->type, f->len);
        return;
    }
    k = snprintf(out, cap, "addr=%02X seq=%02X %s", f->addr, f->seq, type_name(f->type, tmp));
    out += k;
    cap -= (size_t)k;
    switch (f->type) {
    case CAB_HELLO:
        snprintf(out, cap, " min=%u max=%u", m.u.hello.min, m.u.hello.max);
        break;
    case CAB_HELLO_REPLY:
        snprintf(out, cap, " version=%u fw=%u.%u caps=%04X boot=%u", m.u.hello_reply.version,
            m.u.hello_reply.fw_major, m.u.hello_reply.fw_minor, m.u.hello_reply.caps, m.u.hello_reply.boot);
        break;
    case CAB_POLL:
        snprintf(out, cap, " ack=%u", m.u.poll.ack);
        break;
    case CAB_POLL_REPLY: {
        unsigned i;
        *out++ = ' ';
        cap--;
        k = fmt_status(out, cap, &m.u.poll_reply.status);
        out += k;
        cap -= (size_t)k;
        k = snprintf(out, cap, " events=[");
        out += k;
        cap -= (size_t)k;
        for (i = 0; i < m.u.poll_reply.n; i++) {
            const cab_event *e = &m.u.poll_reply.events[i];
            k = snprintf(out, cap, "%s%u:%s:%u:%u", i ? "," : "", e->num, event_name(e->kind), e->arg, e->age);
            out += k;
            cap -= (size_t)k;
        }
        snprintf(out, cap, "]");
        break;
    }
    case CAB_STATUS_REPLY:
        *out++ = ' ';
        cap--;
        k = fmt_status(out, cap, &m.u.status_reply.status);
        snprintf(out + k, cap - (size_t)k, " boot=%u uptime=%lu queued=%u", m.u.status_reply.boot,
            (unsigned long)m.u.status_reply.uptime, m.u.status_reply.queued);
        break;
    case CAB_LOCK_REPLY:
    case CAB_UNLOCK_REPLY:
    case CAB_SIGNAL_REPLY:
        *out++ = ' ';
        cap--;
        fmt_status(out, cap, &m.u.command_reply);
        break;
    case CAB_UNLOCK:
        snprintf(out, cap, " seconds=%u", m.u.unlock.seconds);
        break;
    case CAB_SIGNAL: {
        static const char *led[] = {"off", "green", "red", "amber"};
        static const char *pat[] = {"steady", "slow_blink", "fast_blink"};
        snprintf(out, cap, " led=%s pattern=%s beeps=%u seconds=%u", led[m.u.signal.led],
            pat[m.u.signal.pattern], m.u.signal.beeps, m.u.signal.seconds);
        break;
    }
    case CAB_ERROR:
        snprintf(out, cap, " code=%s request=%s", code_name(m.u.error.code, tmp),
            type_name(m.u.error.request, tmp2));
        break;
    default:
        break;
    }
}

static const char *result_name(int r)
{
    switch (r) {
    case CAB_OK: return "ok";
    case CAB_E_CRC: return "crc";
    case CAB_E_LENGTH: return "length";
    case CAB_E_ADDRESS: return "address";
    case CAB_E_TRUNCATED: return "truncated";
    case CAB_E_GARBAGE: return "garbage";
    case CAB_E_PAYLOAD: return "payload";
    }
    return "?";
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Splits line at " | " into exactly five fields. */
static int split(char *line, char **fields)
{
    int n = 0;
    char *p = line;
    fields[n++] = p;
    while ((p = strstr(p, " | ")) != NULL) {
        if (n == 5) return -1;
        *p = '\0';
        p += 3;
        fields[n++] = p;
    }
    return n == 5 ? 0 : -1;
}

/* Feeds the stream through a receiver; returns the result of the first item and the frame. */
static int first_item(const uint8_t *b, size_t n, cab_frame *f, uint32_t *off, int *items_after)
{
    cab_rx rx;
    cab_frame tmp;
    uint32_t o;
    size_t i;
    int r, first = 99, count = 0;
    cab_rx_init(&rx);
    for (i = 0; i <= n; i++) {
        int at_end = i == n;
        if (!at_end && cab_rx_push(&rx, b[i]) != CAB_OK) return 100;
        while ((r = cab_rx_next(&rx, at_end, &tmp, &o)) != CAB_NEED_MORE) {
            if (first == 99) {
                first = r;
                *f = tmp;
                *off = o;
            } else {
                count++;
            }
            if (count > (int)n + 2) return 101; /* no progress */
        }
    }
    *items_after = count;
    return first;
}

/* Feeds the stream through a receiver and writes every item as "result@offset" joined by commas
 * ("crc@0,crc@6,ok@18"): the form of a vector whose expect lists the whole stream. */
static void all_items(const uint8_t *b, size_t n, char *out, size_t cap)
{
    cab_rx rx;
    cab_frame f;
    uint32_t o;
    size_t i, len = 0;
    int r, items = 0;
    out[0] = '\0';
    cab_rx_init(&rx);
    for (i = 0; i <= n; i++) {
        int at_end = i == n;
        if (!at_end && cab_rx_push(&rx, b[i]) != CAB_OK) {
            snprintf(out, cap, "overflow");
            return;
        }
        while ((r = cab_rx_next(&rx, at_end, &f, &o)) != CAB_NEED_MORE) {
            int w;
            if (++items > (int)n + 2) {
                snprintf(out, cap, "no progress");
                return;
            }
            w = snprintf(out + len, cap - len, "%s%s@%lu", len ? "," : "", result_name(r), (unsigned long)o);
            if (w < 0 || (size_t)w >= cap - len) return;
            len += (size_t)w;
        }
    }
}

/* Pushes a pseudo-random stream laced with good frames through one receiver: it must never
 * overflow its buffer, must make progress, and must find every good frame that was not hit. */
static int stress(void)
{
    cab_rx rx;
    cab_frame f, good;
    uint8_t enc[CAB_MAX_FRAME];
    uint32_t seed = 12345u, off;
    size_t glen, i, j;
    long frames = 0, sent = 0;
    int r;
    cab_rx_init(&rx);
    good.addr = 0x03;
    good.seq = 0x01;
    good.type = CAB_POLL;
    good.len = 1;
    good.payload[0] = 0;
    glen = cab_encode(&good, enc, sizeof enc);
    for (i = 0; i < 200000u; i++) {
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 8u == 0) {
            /* a whole frame, after noise that cannot start one */
            for (j = 0; j < glen; j++) {
                if (cab_rx_push(&rx, enc[j]) != CAB_OK) return 1;
                while ((r = cab_rx_next(&rx, 0, &f, &off)) != CAB_NEED_MORE) {
                    if (r == CAB_OK) frames++;
                }
            }
            sent++;
            continue;
        }
        if (cab_rx_push(&rx, (uint8_t)((seed >> 16) % 0xC5u)) != CAB_OK) return 1;
        while ((r = cab_rx_next(&rx, 0, &f, &off)) != CAB_NEED_MORE) {
            if (r == CAB_OK) frames++;
        }
    }
    if (frames != sent) {
        fprintf(stderr, "stress: got %ld frames, want %ld\n", frames, sent);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static char line[MAX_LINE];
    FILE *fp;
    int lineno = 0, failed = 0, total = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s cabinet.vectors\n", argv[0]);
        return 2;
    }
    if ((fp = fopen(argv[1], "r")) == NULL) {
        perror(argv[1]);
        return 2;
    }
    /* Check value of §2.1. */
    if (cab_crc16((const uint8_t *)"123456789", 9) != 0x4B37) {
        fprintf(stderr, "crc check value: got %04X, want 4B37\n", cab_crc16((const uint8_t *)"123456789", 9));
        failed++;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        char *fl[5], *p, got[1024];
        uint8_t bytes[MAX_BYTES], enc[CAB_MAX_FRAME];
        size_t n = 0, elen;
        cab_frame f;
        uint32_t off = 0;
        int r, after = 0, bad = 0;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        total++;
        if (split(line, fl) != 0) {
            fprintf(stderr, "line %d: want 5 fields separated by \" | \"\n", lineno);
            failed++;
            continue;
        }
        for (p = fl[2]; *p; p++) {
            int hi, lo;
            if (*p == ' ') continue;
            hi = hexval(p[0]);
            lo = p[1] ? hexval(p[1]) : -1;
            if (hi < 0 || lo < 0 || n == MAX_BYTES) {
                bad = 1;
                break;
            }
            bytes[n++] = (uint8_t)(hi << 4 | lo);
            p++;
        }
        if (bad) {
            fprintf(stderr, "line %d (%s): bad hex\n", lineno, fl[0]);
            failed++;
            continue;
        }
        if (strchr(fl[1], '@') != NULL) {
            /* A stream vector: expect lists every item with its offset. */
            all_items(bytes, n, got, sizeof got);
            if (strcmp(got, fl[1]) != 0) {
                fprintf(stderr, "%s: items\n  got  %s\n  want %s\n", fl[0], got, fl[1]);
                failed++;
            }
            continue;
        }
        r = first_item(bytes, n, &f, &off, &after);
        if (r == CAB_OK) {
            cab_msg m;
            if (cab_msg_decode(&f, &m) != CAB_OK) r = CAB_E_PAYLOAD;
        }
        if (strcmp(result_name(r), fl[1]) != 0) {
            fprintf(stderr, "%s: got %s, want %s\n", fl[0], result_name(r), fl[1]);
            failed++;
            continue;
        }
        if (off != 0) {
            fprintf(stderr, "%s: got offset %lu, want 0\n", fl[0], (unsigned long)off);
            failed++;
        }
        if (r != CAB_OK && r != CAB_E_PAYLOAD) continue;
        canonical(&f, got, sizeof got);
        if (strcmp(got, fl[3]) != 0) {
            fprintf(stderr, "%s: meaning\n  got  %s\n  want %s\n", fl[0], got, fl[3]);
            failed++;
        }
        elen = cab_encode(&f, enc, sizeof enc);
        if (elen != n || memcmp(enc, bytes, n) != 0) {
            fprintf(stderr, "%s: re-encoded frame differs from the vector\n", fl[0]);
            failed++;
        }
        if (after != 0) {
            fprintf(stderr, "%s: got %d items after the frame, want 0\n", fl[0], after);
            failed++;
        }
        if (r == CAB_OK) {
            cab_msg m;
            cab_frame g;
            g.addr = f.addr;
            g.seq = f.seq;
            cab_msg_decode(&f, &m);
            if (cab_msg_encode(&m, &g) != CAB_OK || cab_encode(&g, enc, sizeof enc) != n ||
                memcmp(enc, bytes, n) != 0) {
                fprintf(stderr, "%s: encoding the decoded message differs from the vector\n", fl[0]);
                failed++;
            }
        }
    }
    fclose(fp);
    if (stress() != 0) {
        fprintf(stderr, "stress: receiver lost frames or overflowed\n");
        failed++;
    }
    if (total < 30) {
        fprintf(stderr, "got %d vectors, want at least 30\n", total);
        failed++;
    }
    printf("cabinet vectors: %d checked, %d failed\n", total, failed);
    return failed ? 1 : 0;
}
