/*
 * cat_search.c — search text normalisation (docs/store.md, "Search").
 *
 * MariaDB's FULLTEXT parser splits on spaces and punctuation, so Chinese
 * titles ("茉莉花") are one token and "莉花" finds nothing. We match
 * substrings instead: items.search_text holds title + artist normalised
 * here, queries are normalised the same way and each term becomes
 * LIKE '%term%'. Substring matching on UTF-8 bytes is exact (UTF-8 is
 * self-synchronising: a valid sequence never matches mid-character).
 */
#include <string.h>

#include "cat.h"
#include "gw_util.h"

/* Decodes the n-byte sequence at p (validated by gw_utf8_seq_len). */
static long
cat_utf8_cp(const unsigned char *p, size_t n)
{
    long   cp = n == 1
          ? p[0]
          : (n == 2 ? p[0] & 0x1f : (n == 3 ? p[0] & 0x0f : p[0] & 0x07));
    size_t i;

    for (i = 1; i < n; i++) {
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    return cp;
}

long
cat_search_normalize(const char *in, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *) in;
    size_t               o = 0, n, left = strlen(in);
    long                 cp;
    int                  blank = 1; /* drops leading blanks */

    if (cap == 0) {
        return -1;
    }
    while (*p != '\0') {
        if ((n = gw_utf8_seq_len(p, left)) == 0) {
            return -1; /* the one UTF-8 checker: overlongs, surrogates too */
        }
        cp = cat_utf8_cp(p, n);
        if (cp >= 0xff01 && cp <= 0xff5e) {
            cp -= 0xfee0; /* full-width ASCII */
        } else if (cp == 0x3000) {
            cp = ' '; /* ideographic space */
        }
        if (cp < 0x80) {
            char c = (char) cp;
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                if (!blank && o + 1 < cap) {
                    out[o++] = ' ';
                }
                blank = 1;
            } else if (o + 1 < cap) {
                out[o++] = (c >= 'A' && c <= 'Z') ? (char) (c + 32) : c;
                blank = 0;
            }
        } else if (o + n < cap) {
            memcpy(out + o, p, n);
            o += n;
            blank = 0;
        } else {
            break;
        }
        p += n;
        left -= n;
    }
    if (o > 0 && out[o - 1] == ' ') {
        o--;
    }
    out[o] = '\0';
    return (long) o;
}

void
cat_search_like(const char *term, size_t len, char *out)
{
    size_t i, o = 0;

    out[o++] = '%';
    for (i = 0; i < len; i++) {
        if (term[i] == '%' || term[i] == '_' || term[i] == '\\') {
            out[o++] = '\\';
        }
        out[o++] = term[i];
    }
    out[o++] = '%';
    out[o] = '\0';
}

/* Wider grams are rarer (a trigram's postings are a subset of each of its
 * bigrams'), and of one width those with a non-ASCII character are. */
static int
cat_gram_score(const char *g, size_t chars)
{
    int wide = 0;

    for (; *g != '\0'; g++) {
        wide |= (unsigned char) *g >= 0x80;
    }
    return 2 * (int) chars + wide;
}

/* Offsets of the characters of term[0..len) (at most CAT_SEARCH_TEXT_MAX). */
static size_t
cat_term_chars(const char *term, size_t len, size_t *off, size_t cap)
{
    size_t i = 0, n = 0, k;

    while (i < len && n < cap) {
        k = gw_utf8_seq_len((const unsigned char *) term + i, len - i);
        if (k == 0) {
            break;
        }
        off[n++] = i;
        i += k;
    }
    if (n < cap) {
        off[n] = i; /* end of the last character */
    }
    return n;
}

/* The unused gram of term with the best score, or 0 when none is left. */
static int
cat_term_best(const char *term, size_t len,
              char   grams[CAT_SEARCH_CANDIDATES_MAX][CAT_GRAM_BYTES_MAX],
              size_t n, char *out)
{
    size_t off[CAT_SEARCH_TEXT_MAX + 1], nch, i, j, w, blen;
    int    best = -1, sc;
    char   g[CAT_GRAM_BYTES_MAX];

    nch = cat_term_chars(term, len, off, CAT_SEARCH_TEXT_MAX);
    w = nch < CAT_GRAM_CHARS_MAX ? nch : CAT_GRAM_CHARS_MAX;
    for (i = 0; nch > 0 && i + w <= nch; i++) {
        blen = off[i + w] - off[i];
        if (blen >= CAT_GRAM_BYTES_MAX) {
            continue;
        }
        memcpy(g, term + off[i], blen);
        g[blen] = '\0';
        for (j = 0; j < n && strcmp(grams[j], g) != 0; j++) {
        }
        if (j < n) {
            continue; /* already chosen */
        }
        sc = cat_gram_score(g, w);
        if (sc > best) {
            best = sc;
            memcpy(out, g, blen + 1);
        }
    }
    return best >= 0;
}

size_t
cat_search_grams(const char *norm,
                 char grams[CAT_SEARCH_CANDIDATES_MAX][CAT_GRAM_BYTES_MAX])
{
    const char *t[CAT_QUERY_TERMS_MAX];
    size_t      tl[CAT_QUERY_TERMS_MAX], nt = 0, n = 0, k, len;
    const char *p = norm, *sp;
    int         progress = 1;

    while (*p != '\0' && nt < CAT_QUERY_TERMS_MAX) {
        sp = strchr(p, ' ');
        len = sp ? (size_t) (sp - p) : strlen(p);
        if (len > 0) {
            t[nt] = p;
            tl[nt++] = len;
        }
        p += len + (sp != NULL);
    }
    /* Round robin over the terms: each term's rarest-looking gram first. */
    while (n < CAT_SEARCH_CANDIDATES_MAX && progress) {
        progress = 0;
        for (k = 0; k < nt && n < CAT_SEARCH_CANDIDATES_MAX; k++) {
            if (cat_term_best(t[k], tl[k], grams, n, grams[n])) {
                n++;
                progress = 1;
            }
        }
    }
    return n;
}
