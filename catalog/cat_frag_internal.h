/*
 * cat_frag_internal.h — the shared fragment cache's layout (cat_frag.h),
 * for cat_frag.c and its unit tests only.
 */
#ifndef CAT_FRAG_INTERNAL_H
#define CAT_FRAG_INTERNAL_H

#include <stdint.h>

#include "cat_frag.h"

/* A slot's seqlock word: bits 0-31 the sequence, odd while a writer fills
 * the slot; bits 32-63 that writer's pid (0 when the sequence is even),
 * so a writer killed mid-write can be told from a live one. */
#define CAT_FRAG_SEQ(w)     ((uint32_t) (w))
#define CAT_FRAG_WRITER(w)  ((uint32_t) ((w) >> 32))
#define CAT_FRAG_WORD(p, s) (((uint64_t) (uint32_t) (p) << 32) | (uint32_t) (s))

struct cat_frag_slot {
    uint64_t word;
    int64_t  id, version, gen;
    uint64_t off; /* the body's ring position (bytes ever written before it) */
    uint32_t len; /* 0: empty */
    uint32_t unused;
};

/* The mapping: this header, then nslots slots, then the ring. */
struct cat_frag_cache {
    uint64_t              head; /* ring bytes ever reserved, monotonic */
    size_t                nslots, ring_bytes, map_bytes;
    struct cat_frag_slot *slots; /* in the mapping, after this header */
    char                 *ring;  /* in the mapping, after the slots */
};

#endif /* CAT_FRAG_INTERNAL_H */
