/*
 * Cabinet controller protocol, version 1 -- portable C99 reference codec.
 *
 * Specification: firmware-protocol/cabinet.md. Section numbers (§) below refer to it.
 * No dynamic allocation, no stdio, no floating point: suitable for a microcontroller.
 * Every function is reentrant; a cab_rx holds the whole receive state of one bus.
 */
#ifndef CABINET_H
#define CABINET_H

#include <stddef.h>
#include <stdint.h>

#define CAB_SYNC 0xC5u
#define CAB_HEADER_LEN 5u
#define CAB_MAX_PAYLOAD 64u
#define CAB_MIN_FRAME (CAB_HEADER_LEN + 2u)
#define CAB_MAX_FRAME (CAB_HEADER_LEN + CAB_MAX_PAYLOAD + 2u)
#define CAB_MIN_ADDR 0x01u
#define CAB_MAX_ADDR 0xF7u
#define CAB_VERSION 1u
#define CAB_MAX_POLL_EVENTS 8u
#define CAB_MAX_UNLOCK_S 900u
#define CAB_MAX_BEEPS 10u

/* Results. Negative values are bad input; CAB_NEED_MORE means "feed more bytes". */
enum cab_result {
    CAB_OK = 0,
    CAB_NEED_MORE = 1,
    CAB_E_NOSYNC = -1,    /* buffer does not start with C5 */
    CAB_E_LENGTH = -2,    /* LEN over 64 (§2.2 step 2) */
    CAB_E_ADDRESS = -3,   /* reserved address (§1) */
    CAB_E_CRC = -4,       /* CRC mismatch (§2.2 step 3) */
    CAB_E_TRUNCATED = -5, /* stream ended inside a frame */
    CAB_E_GARBAGE = -6,   /* bytes outside any frame were skipped */
    CAB_E_PAYLOAD = -7,   /* good frame, payload does not match its type (§6) */
    CAB_E_SPACE = -8      /* output buffer too small, or receive buffer full */
};

/* Message types (§6). */
enum cab_type {
    CAB_HELLO = 0x01, CAB_POLL = 0x02, CAB_STATUS = 0x03, CAB_LOCK = 0x04,
    CAB_UNLOCK = 0x05, CAB_SIGNAL = 0x06,
    CAB_HELLO_REPLY = 0x81, CAB_POLL_REPLY = 0x82, CAB_STATUS_REPLY = 0x83,
    CAB_LOCK_REPLY = 0x84, CAB_UNLOCK_REPLY = 0x85, CAB_SIGNAL_REPLY = 0x86,
    CAB_ERROR = 0xFF
};

/* Event kinds (§6.2) and error codes (§7). */
enum cab_event_kind {
    CAB_EV_DOOR_OPENED = 0x01, CAB_EV_DOOR_CLOSED = 0x02, CAB_EV_LOCKED = 0x03,
    CAB_EV_UNLOCKED = 0x04, CAB_EV_LOCK_FAULT = 0x05, CAB_EV_TAMPER = 0x06,
    CAB_EV_TAMPER_CLEARED = 0x07, CAB_EV_POWER_LOST = 0x08, CAB_EV_POWER_RESTORED = 0x09,
    CAB_EV_BOOT = 0x0A, CAB_EV_OVERFLOW = 0x0B
};
enum cab_error_code {
    CAB_ERR_UNKNOWN_TYPE = 0x01, CAB_ERR_BAD_PAYLOAD = 0x02, CAB_ERR_VERSION_UNSUPPORTED = 0x03,
    CAB_ERR_NOT_NEGOTIATED = 0x04, CAB_ERR_LOCK_FAULT = 0x05, CAB_ERR_DOOR_OPEN = 0x06,
    CAB_ERR_BUSY = 0x07, CAB_ERR_TAMPER_LOCKOUT = 0x08
};

/* Status flag bits (§6.1). */
#define CAB_FLAG_TAMPER 0x01u
#define CAB_FLAG_MAINS_LOST 0x02u
#define CAB_FLAG_OVERFLOW 0x04u
#define CAB_FLAG_NOT_NEGOTIATED 0x08u
#define CAB_FLAGS_ALL 0x0Fu
#define CAB_CAPS_ALL 0x003Fu

typedef struct {
    uint8_t addr, seq, type, len;
    uint8_t payload[CAB_MAX_PAYLOAD];
} cab_frame;

typedef struct {
    uint8_t door, lock, flags;
    uint16_t unlock_left;
} cab_status;

typedef struct {
    uint8_t num, kind, arg;
    uint16_t age;
} cab_event;

/* One decoded payload; which member is valid follows the frame type. */
typedef struct {
    uint8_t type;
    union {
        struct { uint8_t min, max; } hello;
        struct { uint8_t version, fw_major, fw_minor; uint16_t caps, boot; } hello_reply;
        struct { uint8_t ack; } poll;
        struct { cab_status status; uint8_t n; cab_event events[CAB_MAX_POLL_EVENTS]; } poll_reply;
        struct { cab_status status; uint16_t boot; uint32_t uptime; uint8_t queued; } status_reply;
        struct { uint16_t seconds; } unlock;
        struct { uint8_t led, pattern, beeps, seconds; } signal;
        cab_status command_reply; /* LOCK, UNLOCK and SIGNAL replies */
        struct { uint8_t code, request; } error;
    } u;
} cab_msg;

/* CRC-16/MODBUS over n bytes (§2.1). */
uint16_t cab_crc16(const uint8_t *b, size_t n);

/* Encodes f into out (cap bytes). Returns the frame length, or 0 if f is invalid or out too small. */
size_t cab_encode(const cab_frame *f, uint8_t *out, size_t cap);

/* Decodes the frame at the start of b. On CAB_OK, *used is its length. */
int cab_parse(const uint8_t *b, size_t n, cab_frame *f, size_t *used);

/* Payload codec (§6). cab_msg_decode returns CAB_OK or CAB_E_PAYLOAD; cab_msg_encode fills
 * f->type, f->len and f->payload (not addr/seq) and returns CAB_OK or CAB_E_PAYLOAD. */
int cab_msg_decode(const cab_frame *f, cab_msg *m);
int cab_msg_encode(const cab_msg *m, cab_frame *f);

/*
 * Streaming receiver with resynchronisation (§2.2). Push bytes (e.g. from the UART interrupt)
 * with cab_rx_push, then call cab_rx_next until it returns CAB_NEED_MORE. It returns CAB_OK with a
 * frame, or a negative result for one bad item with *offset = the stream offset of its first
 * byte: each damaged frame (valid ADDR and LEN, CRC fails) is its own CAB_E_CRC; a run of bytes
 * that form no frame is one item, whose result says why its first byte was rejected (garbage,
 * length, address, truncated). An item is reported once what follows it is known (the next frame
 * start, or the end), so pass at_end = 1 once the stream has ended (a recorded capture) or the
 * line has been idle too long: a partial frame is then reported as CAB_E_TRUNCATED and a pending
 * item is flushed.
 */
typedef struct {
    uint8_t buf[CAB_MAX_FRAME];
    size_t n;
    uint32_t off;     /* stream offset of buf[0] */
    uint32_t bad_at;  /* offset of the first byte of the bad item being gathered */
    uint32_t bad_len; /* bytes the damaged frame that began it claims (0 for a run of garbage) */
    int bad;          /* CAB_OK when none, else the result to report for it */
} cab_rx;

void cab_rx_init(cab_rx *rx);
int cab_rx_push(cab_rx *rx, uint8_t byte); /* CAB_OK, or CAB_E_SPACE if next was not called */
int cab_rx_next(cab_rx *rx, int at_end, cab_frame *f, uint32_t *offset);

#endif
