/* Cabinet controller protocol, version 1 -- reference codec. See cabinet.h and cabinet.md. */
#include "cabinet.h"

uint16_t cab_crc16(const uint8_t *b, size_t n)
{
    uint16_t crc = 0xFFFFu;
    size_t i;
    int bit;
    for (i = 0; i < n; i++) {
        crc ^= b[i];
        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xA001u) : (uint16_t)(crc >> 1);
        }
    }
    return crc;
}

static int valid_addr(uint8_t a) { return a >= CAB_MIN_ADDR && a <= CAB_MAX_ADDR; }

size_t cab_encode(const cab_frame *f, uint8_t *out, size_t cap)
{
    size_t total = CAB_MIN_FRAME + (size_t)f->len;
    size_t i;
    uint16_t crc;
    if (!valid_addr(f->addr) || f->len > CAB_MAX_PAYLOAD || cap < total) {
        return 0;
    }
    out[0] = CAB_SYNC;
    out[1] = f->addr;
    out[2] = f->seq;
    out[3] = f->type;
    out[4] = f->len;
    for (i = 0; i < f->len; i++) {
        out[CAB_HEADER_LEN + i] = f->payload[i];
    }
    crc = cab_crc16(out + 1, CAB_HEADER_LEN - 1u + f->len);
    out[CAB_HEADER_LEN + f->len] = (uint8_t)(crc & 0xFFu);
    out[CAB_HEADER_LEN + f->len + 1u] = (uint8_t)(crc >> 8);
    return total;
}

int cab_parse(const uint8_t *b, size_t n, cab_frame *f, size_t *used)
{
    size_t len, total, i;
    if (n == 0) {
        return CAB_NEED_MORE;
    }
    if (b[0] != CAB_SYNC) {
        return CAB_E_NOSYNC;
    }
    if (n >= 2 && !valid_addr(b[1])) {
        return CAB_E_ADDRESS;
    }
    if (n < CAB_HEADER_LEN) {
        return CAB_NEED_MORE;
    }
    len = b[4];
    if (len > CAB_MAX_PAYLOAD) {
        return CAB_E_LENGTH;
    }
    total = CAB_MIN_FRAME + len;
    if (n < total) {
        return CAB_NEED_MORE;
    }
    /* §2.1: over ADDR..CRC the residue of a good frame is zero. */
    if (cab_crc16(b + 1, total - 1u) != 0) {
        return CAB_E_CRC;
    }
    f->addr = b[1];
    f->seq = b[2];
    f->type = b[3];
    f->len = (uint8_t)len;
    for (i = 0; i < len; i++) {
        f->payload[i] = b[CAB_HEADER_LEN + i];
    }
    *used = total;
    return CAB_OK;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(((unsigned)p[0] << 8) | p[1]); }
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xFFu);
}

static int get_status(const uint8_t *p, cab_status *s)
{
    s->door = p[0];
    s->lock = p[1];
    s->flags = p[2];
    s->unlock_left = get16(p + 3);
    if (s->door > 2 || s->lock > 2 || (s->flags & ~CAB_FLAGS_ALL) != 0) {
        return CAB_E_PAYLOAD;
    }
    return CAB_OK;
}

static void put_status(uint8_t *p, const cab_status *s)
{
    p[0] = s->door;
    p[1] = s->lock;
    p[2] = s->flags;
    put16(p + 3, s->unlock_left);
}

int cab_msg_decode(const cab_frame *f, cab_msg *m)
{
    const uint8_t *p = f->payload;
    unsigned n = f->len, i;
    m->type = f->type;
    switch (f->type) {
    case CAB_HELLO:
        if (n != 2 || p[0] < 1 || p[0] > p[1]) return CAB_E_PAYLOAD;
        m->u.hello.min = p[0];
        m->u.hello.max = p[1];
        return CAB_OK;
    case CAB_HELLO_REPLY:
        if (n != 7 || p[0] < 1) return CAB_E_PAYLOAD;
        m->u.hello_reply.version = p[0];
        m->u.hello_reply.fw_major = p[1];
        m->u.hello_reply.fw_minor = p[2];
        m->u.hello_reply.caps = get16(p + 3);
        m->u.hello_reply.boot = get16(p + 5);
        if ((m->u.hello_reply.caps & ~CAB_CAPS_ALL) != 0) return CAB_E_PAYLOAD;
        return CAB_OK;
    case CAB_POLL:
        if (n != 1) return CAB_E_PAYLOAD;
        m->u.poll.ack = p[0];
        return CAB_OK;
    case CAB_POLL_REPLY:
        if (n < 6 || get_status(p, &m->u.poll_reply.status) != CAB_OK) return CAB_E_PAYLOAD;
        if (p[5] > CAB_MAX_POLL_EVENTS || n != 6u + 5u * p[5]) return CAB_E_PAYLOAD;
        m->u.poll_reply.n = p[5];
        for (i = 0; i < p[5]; i++) {
            const uint8_t *e = p + 6 + 5 * i;
            cab_event *ev = &m->u.poll_reply.events[i];
            ev->num = e[0];
            ev->kind = e[1];
            ev->arg = e[2];
            ev->age = get16(e + 3);
            if (ev->num == 0 || ev->kind < CAB_EV_DOOR_OPENED || ev->kind > CAB_EV_OVERFLOW) {
                return CAB_E_PAYLOAD;
            }
        }
        return CAB_OK;
    case CAB_STATUS:
    case CAB_LOCK:
        return n == 0 ? CAB_OK : CAB_E_PAYLOAD;
    case CAB_STATUS_REPLY:
        if (n != 12 || get_status(p, &m->u.status_reply.status) != CAB_OK) return CAB_E_PAYLOAD;
        m->u.status_reply.boot = get16(p + 5);
        m->u.status_reply.uptime = ((uint32_t)get16(p + 7) << 16) | get16(p + 9);
        m->u.status_reply.queued = p[11];
        return CAB_OK;
    case CAB_LOCK_REPLY:
    case CAB_UNLOCK_REPLY:
    case CAB_SIGNAL_REPLY:
        if (n != 5) return CAB_E_PAYLOAD;
        return get_status(p, &m->u.command_reply);
    case CAB_UNLOCK:
        if (n != 2) return CAB_E_PAYLOAD;
        m->u.unlock.seconds = get16(p);
        if (m->u.unlock.seconds < 1 || m->u.unlock.seconds > CAB_MAX_UNLOCK_S) return CAB_E_PAYLOAD;
        return CAB_OK;
    case CAB_SIGNAL:
        if (n != 4 || p[0] > 3 || p[1] > 2 || p[2] > CAB_MAX_BEEPS) return CAB_E_PAYLOAD;
        m->u.signal.led = p[0];
        m->u.signal.pattern = p[1];
        m->u.signal.beeps = p[2];
        m->u.signal.seconds = p[3];
        return CAB_OK;
    case CAB_ERROR:
        if (n != 2) return CAB_E_PAYLOAD;
        m->u.error.code = p[0];
        m->u.error.request = p[1];
        return CAB_OK;
    default:
        return CAB_E_PAYLOAD; /* reserved in version 1 */
    }
}

int cab_msg_encode(const cab_msg *m, cab_frame *f)
{
    uint8_t *p = f->payload;
    unsigned i;
    f->type = m->type;
    switch (m->type) {
    case CAB_HELLO:
        p[0] = m->u.hello.min;
        p[1] = m->u.hello.max;
        f->len = 2;
        break;
    case CAB_HELLO_REPLY:
        p[0] = m->u.hello_reply.version;
        p[1] = m->u.hello_reply.fw_major;
        p[2] = m->u.hello_reply.fw_minor;
        put16(p + 3, m->u.hello_reply.caps);
        put16(p + 5, m->u.hello_reply.boot);
        f->len = 7;
        break;
    case CAB_POLL:
        p[0] = m->u.poll.ack;
        f->len = 1;
        break;
    case CAB_POLL_REPLY:
        if (m->u.poll_reply.n > CAB_MAX_POLL_EVENTS) return CAB_E_PAYLOAD;
        put_status(p, &m->u.poll_reply.status);
        p[5] = m->u.poll_reply.n;
        for (i = 0; i < m->u.poll_reply.n; i++) {
            uint8_t *e = p + 6 + 5 * i;
            const cab_event *ev = &m->u.poll_reply.events[i];
            e[0] = ev->num;
            e[1] = ev->kind;
            e[2] = ev->arg;
            put16(e + 3, ev->age);
        }
        f->len = (uint8_t)(6u + 5u * m->u.poll_reply.n);
        break;
    case CAB_STATUS:
    case CAB_LOCK:
        f->len = 0;
        break;
    case CAB_STATUS_REPLY:
        put_status(p, &m->u.status_reply.status);
        put16(p + 5, m->u.status_reply.boot);
        put16(p + 7, (uint16_t)(m->u.status_reply.uptime >> 16));
        put16(p + 9, (uint16_t)(m->u.status_reply.uptime & 0xFFFFu));
        p[11] = m->u.status_reply.queued;
        f->len = 12;
        break;
    case CAB_LOCK_REPLY:
    case CAB_UNLOCK_REPLY:
    case CAB_SIGNAL_REPLY:
        put_status(p, &m->u.command_reply);
        f->len = 5;
        break;
    case CAB_UNLOCK:
        put16(p, m->u.unlock.seconds);
        f->len = 2;
        break;
    case CAB_SIGNAL:
        p[0] = m->u.signal.led;
        p[1] = m->u.signal.pattern;
        p[2] = m->u.signal.beeps;
        p[3] = m->u.signal.seconds;
        f->len = 4;
        break;
    case CAB_ERROR:
        p[0] = m->u.error.code;
        p[1] = m->u.error.request;
        f->len = 2;
        break;
    default:
        return CAB_E_PAYLOAD;
    }
    return CAB_OK;
}

void cab_rx_init(cab_rx *rx)
{
    rx->n = 0;
    rx->off = 0;
    rx->bad_at = 0;
    rx->bad_len = 0;
    rx->bad = CAB_OK;
}

int cab_rx_push(cab_rx *rx, uint8_t byte)
{
    if (rx->n >= sizeof rx->buf) {
        return CAB_E_SPACE;
    }
    rx->buf[rx->n++] = byte;
    return CAB_OK;
}

static void consume(cab_rx *rx, size_t k)
{
    size_t i;
    for (i = k; i < rx->n; i++) {
        rx->buf[i - k] = rx->buf[i];
    }
    rx->n -= k;
    rx->off += (uint32_t)k;
}

/* Starts a bad item at the current offset unless one is being gathered. */
static void mark_bad(cab_rx *rx, int r, uint32_t claimed)
{
    if (rx->bad == CAB_OK) {
        rx->bad = r;
        rx->bad_at = rx->off;
        rx->bad_len = claimed;
    }
}

static int take_bad(cab_rx *rx, uint32_t *offset)
{
    int r = rx->bad;
    *offset = rx->bad_at;
    rx->bad = CAB_OK;
    return r;
}

int cab_rx_next(cab_rx *rx, int at_end, cab_frame *f, uint32_t *offset)
{
    size_t i, used = 0;
    int r;
    for (;;) {
        /* Skip to the next sync byte; bytes before it form no frame (§2.2 step 1). */
        for (i = 0; i < rx->n && rx->buf[i] != CAB_SYNC; i++) {
        }
        if (i > 0) {
            mark_bad(rx, CAB_E_GARBAGE, 0);
            consume(rx, i);
        }
        if (rx->n == 0) {
            if (at_end && rx->bad != CAB_OK) {
                return take_bad(rx, offset);
            }
            return CAB_NEED_MORE;
        }
        r = cab_parse(rx->buf, rx->n, f, &used);
        if (r == CAB_OK) {
            if (rx->bad != CAB_OK) {
                return take_bad(rx, offset); /* the frame is decoded by the next call */
            }
            *offset = rx->off;
            consume(rx, used);
            return CAB_OK;
        }
        if (r == CAB_NEED_MORE && !at_end) {
            return CAB_NEED_MORE;
        }
        if (r == CAB_E_CRC || r == CAB_NEED_MORE) {
            /* A damaged frame (§2.2 step 3), or one the end of the stream cut short, which
             * claims every byte left. A C5 inside the span such a frame claims is its data: part
             * of that loss. Elsewhere it is a bad frame of its own, reported after what came
             * before it. */
            if (rx->bad != CAB_OK && rx->off - rx->bad_at >= rx->bad_len) {
                return take_bad(rx, offset);
            }
            if (r == CAB_E_CRC) {
                mark_bad(rx, CAB_E_CRC, CAB_HEADER_LEN + (uint32_t)rx->buf[4] + 2u);
            } else {
                mark_bad(rx, CAB_E_TRUNCATED, (uint32_t)rx->n);
            }
        } else {
            /* LEN over 64 or a reserved address: this C5 began no frame (§2.2 step 2). */
            mark_bad(rx, r, 0);
        }
        /* Rescan from the byte after the C5, never after the claimed end (§2.2). */
        consume(rx, 1);
    }
}
