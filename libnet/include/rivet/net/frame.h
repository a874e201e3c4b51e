/**
 * \file rivet/net/frame.h
 * \brief The rivet wire protocol: frames, TLV fields, schemas, versions.
 *
 * The format is specified in docs/protocol.md. In short: an 8-byte header
 * (magic "RV", version, type, flags, 24-bit payload length), a payload of
 * protobuf-style TLV fields, and an XXH3 checksum of header and payload.
 *
 * Three layers, each usable alone:
 * - the **stream decoder** (::rv_frame_decoder) cuts frames out of a byte
 *   stream fed in pieces of any size, validating every length before use;
 * - the **message decoder** (rv_frame_msg_decode()) checks a payload against
 *   a schema and yields zero-copy views of its fields, keeping unknown
 *   fields so they can be forwarded byte for byte;
 * - the **writer** (::rv_frame_writer) encodes frames into a caller buffer.
 *
 * Freestanding: yes. Nothing here allocates: every buffer is the caller's.
 * Not thread-safe: one decoder or writer per thread; schemas are read-only
 * and may be shared.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/core/bytes.h>
#include <rivet/core/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_frame frame: binary protocol codec
 *  \{ */

/** \brief Bytes of the frame header. */
#define RV_FRAME_HEADER_SIZE 8u
/** \brief Bytes of the checksum trailer. */
#define RV_FRAME_TRAILER_SIZE 4u
/** \brief The largest payload the 24-bit length field can carry. */
#define RV_FRAME_PAYLOAD_MAX 0xFFFFFFu
/** \brief First magic byte ('R'). */
#define RV_FRAME_MAGIC0 0x52u
/** \brief Second magic byte ('V'). */
#define RV_FRAME_MAGIC1 0x56u
/** \brief The largest field number (29 bits, as in protobuf). */
#define RV_FRAME_FIELD_MAX 0x1FFFFFFFu
/** \brief Bytes needed to buffer a frame whose payload is at most \p payload. */
#define RV_FRAME_BUFFER_SIZE(payload)                                                              \
  ((size_t)(payload) + RV_FRAME_HEADER_SIZE + RV_FRAME_TRAILER_SIZE)

/** \brief Critical flag: the payload is an encrypted box, not TLV fields. */
#define RV_FRAME_F_ENCRYPTED 0x01u
/** \brief Mask of critical flags: a receiver rejects a frame with a critical
 *  flag it does not know (#RV_FRAME_F_KNOWN). */
#define RV_FRAME_F_CRITICAL_MASK 0x0Fu
/** \brief Ancillary flag: the sender asks for an acknowledgement. */
#define RV_FRAME_F_ACK_REQ 0x10u
/** \brief Flags this version understands. Unknown ancillary flags (bits
 *  4-7) are ignored, unknown critical ones (bits 0-3) reject the frame. */
#define RV_FRAME_F_KNOWN (RV_FRAME_F_ENCRYPTED | RV_FRAME_F_ACK_REQ)

/** \brief Message type of the version-negotiation hello (fields in ::rv_frame_hello_schema). */
#define RV_FRAME_TYPE_HELLO 1u
/** \brief Message type of the reply to a hello, naming the chosen version. */
#define RV_FRAME_TYPE_HELLO_ACK 2u

/** \brief Wire types of a TLV field (the low 3 bits of its tag). */
enum rv_frame_wire {
  RV_WIRE_VARINT = 0,  /**< LEB128 varint, minimal length */
  RV_WIRE_FIXED64 = 1, /**< 8 bytes, little-endian */
  RV_WIRE_BYTES = 2,   /**< varint length, then that many bytes */
  RV_WIRE_FIXED32 = 5, /**< 4 bytes, little-endian */
};

/** \brief Field types a schema can declare. Append-only. */
enum rv_frame_ftype {
  RV_FT_UINT = 1,    /**< unsigned varint (uint64_t) */
  RV_FT_SINT = 2,    /**< zigzag varint (int64_t) */
  RV_FT_BOOL = 3,    /**< varint 0 or 1; anything else is malformed */
  RV_FT_FIXED32 = 4, /**< 4 bytes (uint32_t) */
  RV_FT_FIXED64 = 5, /**< 8 bytes (uint64_t) */
  RV_FT_BYTES = 6,   /**< opaque bytes */
  RV_FT_STRING = 7,  /**< bytes that must be valid UTF-8 */
  RV_FT_MESSAGE = 8, /**< a nested message, validated against its schema */
};

/** \brief Field flag: the message is malformed without this field. */
#define RV_FIELD_REQUIRED 0x01u
/** \brief Field flag: the field may appear more than once. */
#define RV_FIELD_REPEATED 0x02u

struct rv_frame_schema;

/** \brief One field of a schema. */
typedef struct rv_frame_field_desc {
  uint32_t number;                       /**< 1 .. #RV_FRAME_FIELD_MAX, never reused */
  uint8_t type;                          /**< an ::rv_frame_ftype */
  uint8_t flags;                         /**< #RV_FIELD_REQUIRED, #RV_FIELD_REPEATED */
  const char *name;                      /**< for diagnostics and dumps */
  const struct rv_frame_schema *message; /**< the nested schema for #RV_FT_MESSAGE */
} rv_frame_field_desc;

/** \brief A message schema: its fields, sorted by increasing number. */
typedef struct rv_frame_schema {
  const char *name;                  /**< message name, for diagnostics */
  const rv_frame_field_desc *fields; /**< sorted by number, no duplicates */
  size_t nfields;                    /**< number of entries in fields */
} rv_frame_schema;

/** \brief Limits a receiver enforces; see rv_frame_limits_default(). */
typedef struct rv_frame_limits {
  uint32_t max_payload; /**< largest payload accepted (≤ #RV_FRAME_PAYLOAD_MAX) */
  uint32_t max_fields;  /**< most fields in one payload, nested ones included */
  uint32_t max_depth;   /**< deepest nesting of messages (1 = no nesting) */
  uint8_t min_version;  /**< lowest frame version accepted (≥ 1) */
  uint8_t max_version;  /**< highest frame version accepted */
} rv_frame_limits;

/**
 * \brief The default limits: 64 KiB payloads, 256 fields, depth 8,
 *        versions 1..255.
 * \since 0.1.0
 */
RV_API rv_frame_limits rv_frame_limits_default(void);

/** \brief A frame's header and a view of its payload. */
typedef struct rv_frame {
  uint8_t version;  /**< frame version */
  uint8_t type;     /**< message type */
  uint8_t flags;    /**< RV_FRAME_F_* bits as received */
  rv_slice payload; /**< the payload bytes (see the decoder for lifetime) */
} rv_frame;

/* ---- stream decoder ------------------------------------------------- */

/**
 * \brief Cuts frames out of a byte stream. Fields are private.
 *
 * After any error the decoder stays failed (framing is lost: the caller
 * should close the connection) until rv_frame_decoder_reset().
 */
typedef struct rv_frame_decoder {
  uint8_t *buf;           /**< private: caller storage for a partial frame */
  size_t cap;             /**< private */
  size_t have;            /**< private: bytes buffered */
  size_t need;            /**< private: bytes of the current frame, once known */
  int error;              /**< private: sticky error, 0 while healthy */
  rv_frame_limits limits; /**< private */
} rv_frame_decoder;

/**
 * \brief Set up a stream decoder over caller storage.
 * \param[out] d       the decoder
 * \param[in]  buf     storage for one partial frame; owned by the caller,
 *                     must outlive \p d
 * \param[in]  cap     its size: at least RV_FRAME_BUFFER_SIZE(limits->max_payload)
 * \param[in]  limits  the limits, copied; NULL for rv_frame_limits_default()
 * \return 0, or #RV_EINVAL (buffer too small, limits inconsistent).
 * \since 0.1.0
 */
RV_API int rv_frame_decoder_init(rv_frame_decoder *d, void *buf, size_t cap,
                                 const rv_frame_limits *limits);

/** \brief Forget any partial frame and clear a sticky error. \since 0.1.0 */
RV_API void rv_frame_decoder_reset(rv_frame_decoder *d);

/**
 * \brief Feed bytes; stop at the first complete frame.
 *
 * Bytes may arrive in pieces of any size, one at a time included. Each
 * header is validated as soon as its 8 bytes are in, before any payload is
 * buffered. When a whole frame lies in \p data and nothing is buffered, the
 * payload view points straight into \p data (zero copy); otherwise into the
 * decoder's buffer. Either way it stays valid until the next call on \p d
 * (and, for the zero-copy case, while \p data does).
 *
 * \param[in,out] d         the decoder
 * \param[in]     data      input bytes (NULL only with \p len 0)
 * \param[in]     len       their number
 * \param[out]    consumed  bytes of \p data used; feed the rest next call
 * \param[out]    out       the frame, filled only on 0
 * \param[out]    diag      where and why it failed, or NULL
 * \return 0 with a frame in \p out; #RV_EAGAIN when all of \p data was used
 *         and no frame is complete; #RV_EMALFORMED (bad magic),
 *         #RV_EUNSUPPORTED (version outside the limits, unknown critical
 *         flag), #RV_ELIMIT (payload longer than allowed), #RV_EVERIFY
 *         (checksum mismatch), or the sticky error of an earlier failure.
 * \since 0.1.0
 */
RV_API int rv_frame_decoder_feed(rv_frame_decoder *d, const void *data, size_t len,
                                 size_t *consumed, rv_frame *out, rv_diag *diag);

/**
 * \brief Decode exactly one frame that lies whole in \p data (datagram use).
 * \param[in]  data    the bytes
 * \param[in]  len     their number; trailing bytes after the frame are an error
 * \param[in]  limits  or NULL for the defaults
 * \param[out] out     the frame; its payload points into \p data
 * \param[out] diag    or NULL
 * \return 0, #RV_ETRUNCATED (fewer bytes than the frame says), #RV_EMALFORMED
 *         (trailing bytes, bad magic), or as rv_frame_decoder_feed().
 * \since 0.1.0
 */
RV_API int rv_frame_decode(const void *data, size_t len, const rv_frame_limits *limits,
                           rv_frame *out, rv_diag *diag);

/* ---- message decoder ------------------------------------------------ */

/** \brief One decoded field: a known field's value, or an unknown field's raw bytes. */
typedef struct rv_frame_value {
  const rv_frame_field_desc *desc; /**< the schema entry, or NULL for an unknown field */
  uint32_t number;                 /**< field number */
  uint8_t wire;                    /**< ::rv_frame_wire as received */
  uint64_t u; /**< UINT, BOOL, FIXED32, FIXED64: the value; SINT: zigzag-decoded, as int64_t bits */
  rv_slice bytes; /**< BYTES, STRING, MESSAGE: the contents (a view into the payload) */
  rv_slice raw;   /**< the whole field as received, tag included (a view into the payload) */
} rv_frame_value;

/** \brief A decoded message: views into the payload it was decoded from. */
typedef struct rv_frame_msg {
  const rv_frame_schema *schema; /**< the schema it was checked against */
  rv_frame_value *values;        /**< fields in the order received (caller storage) */
  size_t count;                  /**< fields decoded */
  size_t unknown;                /**< how many of them are unknown to the schema */
} rv_frame_msg;

/**
 * \brief Check a payload against a schema and list its fields.
 *
 * Unknown field numbers are skipped and kept (their raw bytes) so
 * rv_frame_msg_encode() forwards them unchanged. Nested messages are
 * validated recursively (up to `limits->max_depth`) and listed as one value
 * whose `bytes` a caller decodes again with the nested schema. Values point
 * into \p payload and stay valid as long as it does.
 *
 * \param[out] m        the message
 * \param[in]  schema   the schema (read-only, may be shared between threads)
 * \param[in]  payload  the payload bytes
 * \param[out] storage  room for the values (caller storage, must outlive \p m)
 * \param[in]  cap      entries in \p storage
 * \param[in]  limits   or NULL for the defaults
 * \param[out] diag     where and why it failed (offset into \p payload), or NULL
 * \return 0; #RV_EMALFORMED (bad tag, wire type not matching the schema,
 *         overlong varint, length past the end, invalid UTF-8, bool not 0/1,
 *         a non-repeated field twice, a missing required field);
 *         #RV_ELIMIT (more fields than `max_fields` or \p cap, nesting deeper
 *         than `max_depth`).
 * \since 0.1.0
 */
RV_API int rv_frame_msg_decode(rv_frame_msg *m, const rv_frame_schema *schema, rv_slice payload,
                               rv_frame_value *storage, size_t cap, const rv_frame_limits *limits,
                               rv_diag *diag);

/**
 * \brief The first value of field \p number, or the next after \p prev.
 * \param[in] m       a decoded message
 * \param[in] number  the field number
 * \param[in] prev    NULL for the first, else a value previously returned
 * \return the value, or NULL when there is no (further) such field.
 * \since 0.1.0
 */
RV_API const rv_frame_value *rv_frame_msg_next(const rv_frame_msg *m, uint32_t number,
                                               const rv_frame_value *prev);

/** \brief Unsigned value of field \p number (UINT, BOOL, FIXED32/64). \return 0 or #RV_ENOTFOUND.
 * \since 0.1.0 */
RV_API int rv_frame_msg_get_u64(const rv_frame_msg *m, uint32_t number, uint64_t *out);
/** \brief Signed value of SINT field \p number. \return 0 or #RV_ENOTFOUND. \since 0.1.0 */
RV_API int rv_frame_msg_get_i64(const rv_frame_msg *m, uint32_t number, int64_t *out);
/** \brief Contents of BYTES/STRING/MESSAGE field \p number (a view). \return 0 or #RV_ENOTFOUND.
 * \since 0.1.0 */
RV_API int rv_frame_msg_get_bytes(const rv_frame_msg *m, uint32_t number, rv_slice *out);

/**
 * \brief Check a schema: fields sorted by number with no duplicates,
 *        numbers in range, known types, MESSAGE fields with a nested schema.
 * \return 0 or #RV_EINVAL (with the offending field's index in diag->offset).
 * \since 0.1.0
 */
RV_API int rv_frame_schema_check(const rv_frame_schema *schema, rv_diag *diag);

/* ---- writer --------------------------------------------------------- */

/**
 * \brief Encodes frames into a caller buffer. Fields are private.
 *
 * Errors are sticky: once a put fails (no room, bad argument) every later
 * call does nothing and rv_frame_end() returns the first error, so a caller
 * can write a whole message and check once.
 */
typedef struct rv_frame_writer {
  uint8_t *buf;   /**< private */
  size_t cap;     /**< private */
  size_t len;     /**< private: bytes written */
  size_t start;   /**< private: offset of the open frame's header */
  size_t nest[8]; /**< private: offsets of open nested messages */
  uint32_t depth; /**< private */
  int error;      /**< private: first error */
  bool open;      /**< private: a frame is open */
} rv_frame_writer;

/** \brief Most nested messages a writer can hold open at once. */
#define RV_FRAME_WRITER_DEPTH 8u

/**
 * \brief Set up a writer over caller storage (several frames may follow
 *        each other in it).
 * \param[out] w    the writer
 * \param[in]  buf  storage, owned by the caller, must outlive \p w
 * \param[in]  cap  its size
 * \since 0.1.0
 */
RV_API void rv_frame_writer_init(rv_frame_writer *w, void *buf, size_t cap);

/** \brief Start a frame. \p version ≥ 1; \p flags any byte. \since 0.1.0 */
RV_API void rv_frame_begin(rv_frame_writer *w, uint8_t version, uint8_t type, uint8_t flags);
/** \brief Append an unsigned varint field (also for BOOL). \since 0.1.0 */
RV_API void rv_frame_put_uint(rv_frame_writer *w, uint32_t number, uint64_t v);
/** \brief Append a zigzag signed varint field. \since 0.1.0 */
RV_API void rv_frame_put_sint(rv_frame_writer *w, uint32_t number, int64_t v);
/** \brief Append a fixed 4-byte field. \since 0.1.0 */
RV_API void rv_frame_put_fixed32(rv_frame_writer *w, uint32_t number, uint32_t v);
/** \brief Append a fixed 8-byte field. \since 0.1.0 */
RV_API void rv_frame_put_fixed64(rv_frame_writer *w, uint32_t number, uint64_t v);
/**
 * \brief Append a length-delimited field (BYTES, STRING).
 *
 * \p p may be NULL if \p n is 0, and must not point into the writer's buffer.
 * \since 0.1.0
 */
RV_API void rv_frame_put_bytes(rv_frame_writer *w, uint32_t number, const void *p, size_t n);
/** \brief Append raw, already encoded field bytes (an unknown field kept from decoding). \since
 * 0.1.0 */
RV_API void rv_frame_put_raw(rv_frame_writer *w, rv_slice raw);
/** \brief Open a nested message as field \p number; close it with rv_frame_end_nested(). \since
 * 0.1.0 */
RV_API void rv_frame_begin_nested(rv_frame_writer *w, uint32_t number);
/** \brief Close the innermost nested message. \since 0.1.0 */
RV_API void rv_frame_end_nested(rv_frame_writer *w);

/**
 * \brief Close the frame: write its length and checksum.
 * \param[in,out] w    the writer
 * \param[out]    out  the encoded frame (a view into the writer's buffer), or NULL
 * \return 0; #RV_EFULL (the buffer was too small), #RV_ELIMIT (payload
 *         over #RV_FRAME_PAYLOAD_MAX), #RV_EINVAL (field number 0 or too
 *         large, version 0, nesting unbalanced or too deep, no frame open).
 *         The first error of the frame is returned; the writer is then ready
 *         for a new frame at the position the failed one started.
 * \since 0.1.0
 */
RV_API int rv_frame_end(rv_frame_writer *w, rv_slice *out);

/**
 * \brief Re-encode a decoded message's fields into an open frame: known
 *        fields in schema order (repeated ones in received order), then
 *        unknown fields in received order, each byte for byte.
 *
 * For input in canonical order (docs/protocol.md) the output equals the
 * input byte for byte.
 * \since 0.1.0
 */
RV_API void rv_frame_msg_encode(rv_frame_writer *w, const rv_frame_msg *m);

/* ---- version negotiation -------------------------------------------- */

/** \brief Fields of a HELLO: 1 min_version, 2 max_version (UINT, required), 3 node (BYTES). */
RV_API extern const rv_frame_schema rv_frame_hello_schema;

/** \brief Fields of a HELLO_ACK: 1 version (the chosen one), 2 error (1 = no
 *  common version), 3 min_version, 4 max_version (the responder's range). */
RV_API extern const rv_frame_schema rv_frame_hello_ack_schema;

/** \brief HELLO_ACK error value: the two version ranges do not overlap. */
#define RV_FRAME_HELLO_UNSUPPORTED 1u

/**
 * \brief Pick the highest version both sides support.
 * \param[in]  my_min, my_max      our range (1 ≤ min ≤ max ≤ 255)
 * \param[in]  peer_min, peer_max  the peer's range from its HELLO
 * \param[out] chosen              the highest common version
 * \return 0, #RV_EUNSUPPORTED (no overlap) or #RV_EINVAL (a range is empty
 *         or outside 1..255).
 * \since 0.1.0
 */
RV_API int rv_frame_negotiate(uint64_t my_min, uint64_t my_max, uint64_t peer_min,
                              uint64_t peer_max, uint8_t *chosen);

/** \} */

#ifdef __cplusplus
}
#endif
