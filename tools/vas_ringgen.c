/*
 * vas-ringgen — deterministic demo ringtone generator.
 *
 *   vas-ringgen list
 *   vas-ringgen midi OUT.mid TUNE
 *   vas-ringgen wav  OUT.wav TUNE [RATE [MAX_SECONDS]]
 *   vas-ringgen amr  OUT.amr TUNE
 *
 * Every tune is a compact note string in the table below (public-domain or
 * traditional melodies, plus short originals written for this project). One
 * parsed "score" (melody + bass, repeated to 15..30 s) feeds three renderers:
 * a format-1 Standard MIDI File, a small additive synth (16-bit mono WAV), and
 * AMR-NB 12.2 kbit/s through libopencore-amrnb from the synth at 8000 Hz.
 *
 * The output is a pure function of the table and the arguments (integer tick
 * arithmetic, no clocks, no randomness), so scripts/demo_content.sh can rerun
 * and get byte-identical files. Files are written to OUT.tmp and renamed on
 * success; any I/O error removes the temporary file and exits 1.
 *
 * Note strings: tokens separated by blanks. A token is a pitch or `R` (rest)
 * followed by a duration: `C4q`, `F#5e.`, `Bb3h`, `Rs`. Pitches are scientific
 * (C4 = MIDI 60, sharps `#`, flats `b`); durations w h q e s (whole .. 16th),
 * a trailing `.` makes them dotted. `|` is a bar line and is checked against
 * the meter, so a transcription slip is reported instead of played.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <opencore-amrnb/interf_enc.h>

/* ---- limits (every size and count the tool relies on) ----------------- */
#define RG_PPQ            480u  /* MIDI ticks per quarter note */
#define RG_NOTES_MAX      4096u /* notes per voice after repetition */
#define RG_TOKENS_MAX     512u  /* tokens in one note string */
#define RG_TOKEN_LEN_MAX  8u    /* "F#5q." is 5 */
#define RG_SECONDS_MIN    15u   /* full renderings last 15..30 s */
#define RG_SECONDS_MAX    30u
#define RG_REPEAT_MAX     8
#define RG_BARS_MAX       512u
#define RG_RATE_DEFAULT   22050L
#define RG_RATE_MIN       8000L
#define RG_RATE_MAX       48000L
#define RG_TAIL_MS        600u  /* room for the last note's release */
#define RG_FADE_MS        1000u /* fade-out of a shortened preview */
#define RG_HARMONICS      6
#define RG_MIDI_BYTES_MAX (256u * 1024u)
#define RG_PATH_MAX       4096u
#define RG_AMR_RATE       8000L
#define RG_AMR_FRAME      160u /* 20 ms at 8000 Hz */
#define RG_AMR_BYTES_MAX  64u  /* MR122 frames are 32 bytes */
#define RG_TEXT_MAX       200u /* MIDI meta text */

#define RG_VEL_MELODY 100
#define RG_VEL_BASS   80
#define RG_CH_MELODY  0
#define RG_CH_BASS    1

/* ---- the tune table ----------------------------------------------------
 * Append only: demo_content.sh derives SKUs from the index and category
 * order. key is the tonic ("C", "F#", "Bb") with "m" for minor; it drives the
 * automatic bass (I/IV/V-style chords chosen per bar from the melody). bass is
 * NULL for the automatic bass, or an explicit line of the same length.
 * pickup is the anacrusis in ticks; a pass ends on a shortened bar so that the
 * repeated melody keeps the bar grid. program/bass_program are General MIDI
 * program numbers (0-based).
 */
struct rg_tune {
    const char *slug;
    const char *title;
    const char *artist;
    const char *category;
    int         bpm;
    int         meter_num;
    int         meter_den;
    unsigned    pickup;
    const char *key;
    int         program;
    int         bass_program;
    const char *melody;
    const char *bass;
};

#define DRAGON "Dragon Tunes Studio"
#define JADE   "Jade Bell Media"
#define TRAD   "Traditional"

/* clang-format off */
static const struct rg_tune rg_tunes[] = {
    /* ---- folk 民歌 ---- */
    {"mo-li-hua", "茉莉花 Mo Li Hua", TRAD, "folk", 84, 2, 4, 0, "C", 75, 46,
     "E4q E4e G4e | A4e C5e C5e A4e | G4q G4e A4e | G4h |"
     " E4q E4e G4e | A4e C5e C5e A4e | G4q G4e A4e | G4h |"
     " G4q G4q | G4q E4e G4e | A4q A4q | G4h |"
     " E4q D4e E4e | G4q E4e D4e | C4q C4e D4e | C4h |"
     " D4q. E4e | G4e A4e E4e D4e | C4q A3e G3e | C4h", NULL},
    {"kangding", "康定情歌 Kangding Love Song", TRAD, "folk", 100, 4, 4, 0, "Am",
     40, 46,
     "E4e G4e A4e A4s G4s A4e E4e D4q | E4e G4e A4e A4s G4s A4q E4q |"
     " E4e G4e A4e A4s G4s A4e E4e D4q | G4e E4e D4e E4s D4s C4e A3e A3q |"
     " D4e E4e D4e C4s A3s D4q A3q | G4e E4e D4e E4s D4s C4e A3e A3q |"
     " D4e E4e D4e C4s A3s D4e E4e A3q | A3w", NULL},
    {"song-bie", "送别 Song of Farewell", "J. P. Ordway", "folk", 100, 4, 4, 0, "C",
     22, 32,
     "G4q E4e G4e C5h | A4q C5q G4h | G4q C4e D4e E4q D4e C4e | D4w |"
     " A4q C5q C5h | B4q A4e B4e C5h | A4e B4e C5e A4e A4e G4e E4e C4e | D4w |"
     " G4q E4e G4e C5q. B4e | A4q C5q G4h | G4q D4e E4e F4q. B3e | C4w", NULL},
    {"sakura", "さくら Sakura Sakura", TRAD, "folk", 84, 4, 4, 0, "Am", 107, 46,
     "A4q A4q B4h | A4q A4q B4h | A4q B4q C5q B4q | A4q B4e A4e F4h |"
     " E4q C4q E4q F4q | E4q E4e C4e B3h | A4q A4q B4h | A4q A4q B4h |"
     " E4q F4q B4e A4e F4q | E4w", NULL},
    {"greensleeves", "Greensleeves 绿袖子", TRAD, "folk", 150, 3, 4, 480, "Am",
     24, 32,
     "A4q | C5h D5q | E5q. F5e E5q | D5h B4q | G4q. A4e B4q | C5h A4q |"
     " A4q. G#4e A4q | B4h G#4q | E4h A4q | C5h D5q | E5q. F5e E5q |"
     " D5h B4q | G4q. A4e B4q | C5q. B4e A4q | G#4q. F#4e G#4q | A4h", NULL},
    {"amazing-grace", "Amazing Grace 奇异恩典", TRAD, "folk", 100, 3, 4, 480, "G",
     109, 32,
     "D4q | G4h B4e G4e | B4h A4q | G4h E4q | D4h D4q | G4h B4e G4e |"
     " B4h A4q | D5h. | D5h B4q | D5q. B4e D5e B4e | G4h D4q |"
     " E4q. G4e G4e E4e | D4h D4q | G4h B4e G4e | B4h A4q | G4h", NULL},
    {"scarborough-fair", "Scarborough Fair 斯卡布罗集市", TRAD, "folk", 120, 3, 4,
     0, "Dm", 68, 46,
     "D4h D4q | A4h A4q | E4q. F4e E4q | D4h. | Rq A4q C5q | D5h C5q |"
     " A4q B4q G4q | A4h. | D5h D5q | C5h A4q | A4q G4q F4q | E4q C4h |"
     " D4h A4q | G4h F4q | E4q D4q C4q | D4h.", NULL},
    {"oh-susanna", "Oh! Susanna 噢！苏珊娜", "S. C. Foster", "folk", 140, 4, 4,
     480, "C", 105, 32,
     "C4e D4e | E4q G4q G4q. A4e | G4q E4q C4q. D4e | E4q E4q D4q C4q |"
     " D4h. C4e D4e | E4q G4q G4q. A4e | G4q E4q C4q. D4e |"
     " E4q E4q D4q D4q | C4h.", NULL},
    {"shan-jian-xiao-lu", "山间小路 Mountain Path", DRAGON, "folk", 96, 4, 4, 0,
     "G", 77, 46,
     "D4q G4e A4e B4q A4e G4e | E4q G4e E4e D4h | G4q A4e B4e D5q B4e A4e |"
     " B4h. Rq | D5q B4e D5e E5q D5e B4e | A4q B4e A4e G4q E4q |"
     " D4e E4e G4e A4e B4q A4q | G4w", NULL},
    {"zhu-lin-qing-feng", "竹林清风 Bamboo Breeze", DRAGON, "folk", 88, 3, 4, 0,
     "D", 73, 46,
     "A4q D5e E5e F#5q | E5q. D5e B4q | A4q B4e A4e F#4q | E4h. |"
     " F#4q A4e B4e D5q | E5e F#5e E5e D5e B4q | A4q F#4e E4e F#4q | D4h.",
     NULL},

    /* ---- kids 儿歌 ---- */
    {"xiao-xing-xing", "小星星 Twinkle Twinkle", TRAD, "kids", 112, 4, 4, 0, "C",
     10, 32,
     "C5q C5q G5q G5q | A5q A5q G5h | F5q F5q E5q E5q | D5q D5q C5h |"
     " G5q G5q F5q F5q | E5q E5q D5h | G5q G5q F5q F5q | E5q E5q D5h |"
     " C5q C5q G5q G5q | A5q A5q G5h | F5q F5q E5q E5q | D5q D5q C5h", NULL},
    {"liang-zhi-lao-hu", "两只老虎 Frère Jacques", TRAD, "kids", 120, 4, 4, 0,
     "C", 13, 32,
     "C5q D5q E5q C5q | C5q D5q E5q C5q | E5q F5q G5h | E5q F5q G5h |"
     " G5e A5e G5e F5e E5q C5q | G5e A5e G5e F5e E5q C5q |"
     " C5q G4q C5h | C5q G4q C5h", NULL},
    {"mary-lamb", "Mary Had a Little Lamb 玛丽有只小羊羔", "L. Mason", "kids",
     120, 4, 4, 0, "C", 11, 32,
     "E5q D5q C5q D5q | E5q E5q E5h | D5q D5q D5h | E5q G5q G5h |"
     " E5q D5q C5q D5q | E5q E5q E5q E5q | D5q D5q E5q D5q | C5w", NULL},
    {"london-bridge", "London Bridge 伦敦桥", TRAD, "kids", 120, 4, 4, 0, "C",
     56, 32,
     "G4q. A4e G4q F4q | E4q F4q G4h | D4q E4q F4h | E4q F4q G4h |"
     " G4q. A4e G4q F4q | E4q F4q G4h | D4h G4h | E4q C4h.", NULL},
    {"row-your-boat", "Row, Row, Row Your Boat 划船歌", TRAD, "kids", 150, 6, 8,
     0, "C", 45, 32,
     "C4q. C4q. | C4q D4e E4q. | E4q D4e E4q F4e | G4h. |"
     " C5e C5e C5e G4e G4e G4e | E4e E4e E4e C4e C4e C4e |"
     " G4q F4e E4q D4e | C4h.", NULL},

    /* ---- festive 节日 ---- */
    {"xin-nian-hao", "新年好 Happy New Year", TRAD, "festive", 132, 3, 4, 0, "C",
     8, 32,
     "C5e C5e C5q G4q | E5e E5e E5q C5q | C5e E5e G5q G5q | F5e E5e D5h |"
     " D5e E5e F5q F5q | E5e D5e E5q C5q | C5e E5e D5q G4q | B4e D5e C5h",
     NULL},
    {"jingle-bells", "Jingle Bells 铃儿响叮当", "J. Pierpont", "festive", 176, 4,
     4, 0, "C", 9, 32,
     "E5q E5q E5h | E5q E5q E5h | E5q G5q C5q. D5e | E5w |"
     " F5q F5q F5q. F5e | F5q E5q E5q E5e E5e | E5q D5q D5q E5q | D5h G5h |"
     " E5q E5q E5h | E5q E5q E5h | E5q G5q C5q. D5e | E5w |"
     " F5q F5q F5q F5q | F5q E5q E5q E5e E5e | G5q G5q F5q D5q | C5w", NULL},
    {"auld-lang-syne", "Auld Lang Syne 友谊地久天长", TRAD, "festive", 100, 4, 4,
     480, "F", 21, 32,
     "C4q | F4q. F4e F4q A4q | G4q. F4e G4q A4q | F4q. F4e A4q C5q |"
     " D5h. D5q | C5q. A4e A4q F4q | G4q. F4e G4q A4q | F4q. D4e D4q C4q |"
     " F4h.", NULL},
    {"merry-christmas", "We Wish You a Merry Christmas 圣诞快乐", TRAD,
     "festive", 160, 3, 4, 480, "G", 14, 32,
     "D4q | G4q G4e A4e G4e F#4e | E4q C4q E4q | A4q A4e B4e A4e G4e |"
     " F#4q D4q F#4q | B4q B4e C5e B4e A4e | G4q E4q D4e D4e | E4q A4q F#4q |"
     " G4h", NULL},
    {"silent-night", "平安夜 Silent Night", "F. X. Gruber", "festive", 150, 6, 8,
     0, "C", 19, 32,
     "G4q. A4e G4q | E4h. | G4q. A4e G4q | E4h. | D5h D5q | B4h. |"
     " C5h C5q | G4h. | A4h A4q | C5q. B4e A4q | G4q. A4e G4q | E4h. |"
     " A4h A4q | C5q. B4e A4q | G4q. A4e G4q | E4h. | D5h D5q |"
     " F5q. D5e B4q | C5h. | E5h. | C5q. G4e E4q | G4q. F4e D4q | C4h. | C4h.",
     NULL},
    {"chun-jie-luo-gu", "春节锣鼓 Spring Festival Drums", DRAGON, "festive", 132,
     2, 4, 0, "D", 111, 47,
     "D5e D5e A4e B4e | D5q A4q | B4e A4e F#4e E4e | D4h |"
     " F#4e A4e B4e D5e | E5q D5q | B4e A4e B4e D5e | A4h |"
     " D5e E5e F#5e E5e | D5e B4e A4q | B4e D5e A4e F#4e | E4e F#4e D4q",
     NULL},

    /* ---- classical 古典 ---- */
    {"ode-to-joy", "欢乐颂 Ode to Joy", "L. van Beethoven", "classical", 132, 4,
     4, 0, "C", 48, 42,
     "E4q E4q F4q G4q | G4q F4q E4q D4q | C4q C4q D4q E4q | E4q. D4e D4h |"
     " E4q E4q F4q G4q | G4q F4q E4q D4q | C4q C4q D4q E4q | D4q. C4e C4h |"
     " D4q D4q E4q C4q | D4q E4e F4e E4q C4q | D4q E4e F4e E4q D4q |"
     " C4q D4q G3h | E4q E4q F4q G4q | G4q F4q E4q D4q | C4q C4q D4q E4q |"
     " D4q. C4e C4h", NULL},
    {"fur-elise", "致爱丽丝 Für Elise", "L. van Beethoven", "classical", 72, 3,
     8, 240, "Am", 0, 0,
     "E5s D#5s | E5s D#5s E5s B4s D5s C5s | A4e Rs C4s E4s A4s |"
     " B4e Rs E4s G#4s B4s | C5e Rs E4s E5s D#5s | E5s D#5s E5s B4s D5s C5s |"
     " A4e Rs C4s E4s A4s | B4e Rs E4s C5s B4s | A4q",
     "Re | Rq. | A2s E3s A3s Rs Re | E2s E3s G#3s Rs Re | A2s E3s A3s Rs Re |"
     " Rq. | A2s E3s A3s Rs Re | E2s E3s G#3s Rs Re | A2s E3s A3e"},
    {"canon-in-d", "卡农 Canon in D", "J. Pachelbel", "classical", 84, 4, 4, 0,
     "D", 48, 42,
     "F#5h E5h | D5h C#5h | B4h A4h | B4h C#5h |"
     " D5q F#5q A5q G5q | F#5q D5q F#5q E5q | D5q B4q D5q A5q |"
     " G5q B5q A5q G5q",
     "D3h A2h | B2h F#2h | G2h D2h | G2h A2h |"
     " D3h A2h | B2h F#2h | G2h D2h | G2h A2h"},
    {"kleine-nachtmusik", "小夜曲 Eine kleine Nachtmusik", "W. A. Mozart",
     "classical", 132, 4, 4, 0, "G", 40, 42,
     "G4q Re D4e G4q Re D4e | G4e D4e G4e B4e D5h | C5q Re A4e C5q Re A4e |"
     " C5e A4e F#4e A4e D4h | B4e D5e G5e D5e B4e D5e G5e D5e |"
     " C5e E5e A5e E5e C5e E5e A5e E5e | D5e B4e G4e B4e A4e F#4e D4e F#4e |"
     " G4h G4h", NULL},
    {"mountain-king", "In the Hall of the Mountain King 山魔王的宫殿",
     "E. Grieg", "classical", 132, 4, 4, 0, "Bm", 70, 45,
     "B3e C#4e D4e E4e F#4e D4e F#4q | F4e C#4e F4q E4e C4e E4q |"
     " B3e C#4e D4e E4e F#4e D4e F#4e B4e | A4e F#4e D4e F#4e A4h |"
     " F#4e G#4e A#4e B4e C#5e A#4e C#5q | D5e A#4e D5q C#5e A#4e C#5q |"
     " F#4e G#4e A#4e B4e C#5e A#4e C#5e F#5e | E5e C#5e A#4e C#5e E5h",
     NULL},
    {"minuet-in-g", "G大调小步舞曲 Minuet in G", "C. Petzold", "classical", 132,
     3, 4, 0, "G", 6, 32,
     "D5q G4e A4e B4e C5e | D5q G4q G4q | E5q C5e D5e E5e F#5e | G5q G4q G4q |"
     " C5q D5e C5e B4e A4e | B4q C5e B4e A4e G4e | F#4q G4e A4e B4e G4e |"
     " A4h. | D5q G4e A4e B4e C5e | D5q G4q G4q | E5q C5e D5e E5e F#5e |"
     " G5q G4q G4q | C5q D5e C5e B4e A4e | B4q C5e B4e A4e G4e |"
     " A4q B4e A4e G4e F#4e | G4h.", NULL},
    {"brahms-lullaby", "摇篮曲 Brahms' Lullaby", "J. Brahms", "classical", 100, 3,
     4, 480, "C", 10, 46,
     "E4e E4e | G4h E4e E4e | G4h E4e G4e | C5q B4q. A4e | A4q G4q D4e E4e |"
     " F4q D4q D4e E4e | F4h D4e F4e | B4e A4e G4q B4q | C5h C4e C4e |"
     " C5h A4e F4e | G4h E4e C4e | F4q G4q A4q | G4h C4e C4e | C5h A4e F4e |"
     " G4h E4e C4e | F4q E4q D4q | C4h", NULL},
    {"prelude-in-c", "C大调前奏曲 Prelude in C", "J. S. Bach", "classical", 72, 4,
     4, 0, "C", 0, 0,
     "C4s E4s G4s C5s E5s G4s C5s E5s C4s E4s G4s C5s E5s G4s C5s E5s |"
     " C4s D4s A4s D5s F5s A4s D5s F5s C4s D4s A4s D5s F5s A4s D5s F5s |"
     " B3s D4s G4s D5s F5s G4s D5s F5s B3s D4s G4s D5s F5s G4s D5s F5s |"
     " C4s E4s G4s C5s E5s G4s C5s E5s C4s E4s G4s C5s E5s G4s C5s E5s |"
     " C4s E4s A4s E5s A5s A4s E5s A5s C4s E4s A4s E5s A5s A4s E5s A5s |"
     " C4s D4s F#4s A4s D5s F#4s A4s D5s C4s D4s F#4s A4s D5s F#4s A4s D5s |"
     " B3s D4s G4s D5s G5s G4s D5s G5s B3s D4s G4s D5s G5s G4s D5s G5s |"
     " B3s C4s E4s G4s C5s E4s G4s C5s B3s C4s E4s G4s C5s E4s G4s C5s",
     "C3w | C3w | B2w | C3w | C3w | C3w | B2w | B2w"},

    /* ---- pop-style jingles 流行 (originals) ---- */
    {"neon-morning", "霓虹早晨 Neon Morning", JADE, "pop", 128, 4, 4, 0, "C", 80,
     38,
     "C5e E5e G5e E5e C5e E5e G5q | A5e G5e E5e D5e C5q Rq |"
     " D5e F5e A5e F5e D5e F5e A5q | G5e F5e D5e B4e C5h |"
     " E5e G5e C6e G5e E5e G5e C6q | B5e A5e G5e E5e G5q Rq |"
     " A5e G5e E5e D5e E5e G5e A5q | G5e E5e D5e B4e C5h", NULL},
    {"bubble-tea", "珍珠奶茶 Bubble Tea", JADE, "pop", 112, 4, 4, 0, "G", 12, 33,
     "G4e B4e D5e B4e G4q A4q | B4e D5e E5e D5e B4h |"
     " A4e B4e G4e E4e D4q E4q | G4e A4e B4e A4e G4h", NULL},
    {"midnight-call", "午夜来电 Midnight Call", JADE, "pop", 90, 4, 4, 0, "Am", 4,
     33,
     "A4q. C5e E5q D5e C5e | B4q. G4e E4h | F4q. A4e C5q B4e A4e |"
     " G#4q. B4e E5h | A4q. C5e E5q G5e F5e | E5q. D5e C5h |"
     " D5e C5e B4e A4e G#4q B4q | A4w", NULL},
    {"pixel-hero", "像素英雄 Pixel Hero", "Pixel Panda Audio", "pop", 150, 4, 4,
     0, "C", 80, 38,
     "C5e C5e G4e C5e E5e G5e E5q | F5e F5e C5e F5e A5e C6e A5q |"
     " G5e G5e D5e G5e B5e D6e B5q | C6e G5e E5e G5e C6h", NULL},
    {"skyline", "天际线 Skyline", JADE, "pop", 120, 4, 4, 0, "D", 62, 38,
     "D5q A4e D5e F#5q E5q | D5e C#5e B4e A4e B4h | G4q B4e D5e G5q F#5q |"
     " E5e D5e C#5e B4e A4h | D5q A4e D5e F#5q A5q | B5e A5e F#5e E5e D5h |"
     " B4e D5e E5e F#5e E5q C#5q | D5w", NULL},
    {"island-breeze", "海岛微风 Island Breeze", "Pixel Panda Audio", "pop", 104,
     4, 4, 0, "F", 114, 32,
     "F4e A4e C5e A4e D5q C5q | A4e G4e F4e G4e A4h |"
     " Bb4e D5e F5e D5e C5q A4q | G4e A4e G4e E4e F4h", NULL},
};
/* clang-format on */

#define RG_TUNES_N ((int) (sizeof rg_tunes / sizeof rg_tunes[0]))

/* ---- score: what the renderers consume --------------------------------- */
struct rg_note {
    uint32_t start; /* ticks */
    uint32_t dur;   /* ticks */
    int      key;   /* MIDI note number, -1 for a rest */
};

struct rg_voice {
    struct rg_note notes[RG_NOTES_MAX];
    size_t         n;
};

struct rg_score {
    const struct rg_tune *tune;
    struct rg_voice       melody;
    struct rg_voice       bass;
    uint32_t              pass_ticks;  /* one pass of the melody */
    uint32_t              total_ticks; /* after repetition */
    uint32_t              bar_ticks;
    int                   reps;
    int                   tonic; /* pitch class */
    int                   minor;
};

/* A growable byte buffer with a hard cap; err sticks once set. */
struct rg_buf {
    uint8_t *data;
    size_t   len;
    size_t   cap;
    int      err;
};

/* An output file written to "<path>.tmp" and renamed into place. */
struct rg_out {
    FILE *fp;
    char  path[RG_PATH_MAX];
    char  tmp[RG_PATH_MAX];
    int   err;
};

struct rg_timbre {
    float harm[RG_HARMONICS];
    float attack_s;
    float tau_s; /* decay time constant towards sustain */
    float sustain;
    float release_s;
};

/* ---- small helpers ----------------------------------------------------- */
static void
rg_die_usage(void)
{
    fprintf(
        stderr,
        "usage: vas-ringgen list\n"
        "       vas-ringgen midi OUT.mid TUNE\n"
        "       vas-ringgen wav  OUT.wav TUNE [RATE [MAX_SECONDS]]\n"
        "       vas-ringgen amr  OUT.amr TUNE\n"
        "TUNE is an index from `vas-ringgen list` (0..%d); RATE %ld..%ld Hz "
        "(default %ld).\n",
        RG_TUNES_N - 1, RG_RATE_MIN, RG_RATE_MAX, RG_RATE_DEFAULT);
    exit(2);
}

static int
rg_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long  v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static uint64_t
rg_ticks_to_samples(uint64_t ticks, int bpm, long rate)
{
    return ticks * 60u * (uint64_t) rate / ((uint64_t) RG_PPQ * (uint64_t) bpm);
}

static double
rg_ticks_to_seconds(uint64_t ticks, int bpm)
{
    return (double) ticks * 60.0 / ((double) RG_PPQ * bpm);
}

/* ---- note string parsing ----------------------------------------------- */
static int
rg_pitch_class(char letter)
{
    static const int pc[7] = {9, 11, 0, 2, 4, 5, 7}; /* A..G */

    if (letter < 'A' || letter > 'G')
        return -1;
    return pc[letter - 'A'];
}

static int
rg_parse_key(const char *s, int *tonic, int *minor)
{
    int    pc = rg_pitch_class(s[0]);
    size_t i = 1;

    if (pc < 0)
        return -1;
    if (s[i] == '#' || s[i] == 'b') {
        pc += s[i] == '#' ? 1 : 11;
        i++;
    }
    *minor = s[i] == 'm';
    if (*minor)
        i++;
    if (s[i] != '\0')
        return -1;
    *tonic = pc % 12;
    return 0;
}

/* One token: pitch (or R) then duration letter then optional dot. */
static int
rg_parse_token(const char *tok, size_t len, int *key, uint32_t *ticks)
{
    size_t   i = 0;
    uint32_t t;

    if (tok[0] == 'R') {
        *key = -1;
        i = 1;
    } else {
        int pc = rg_pitch_class(tok[0]);
        int octave;

        if (pc < 0 || len < 3)
            return -1;
        i = 1;
        if (tok[i] == '#' || tok[i] == 'b') {
            pc += tok[i] == '#' ? 1 : -1;
            i++;
        }
        if (tok[i] < '0' || tok[i] > '8')
            return -1;
        octave = tok[i] - '0';
        i++;
        *key = (octave + 1) * 12 + pc;
        if (*key < 0 || *key > 127)
            return -1;
    }
    if (i >= len)
        return -1;
    switch (tok[i]) {
    case 'w':
        t = RG_PPQ * 4;
        break;
    case 'h':
        t = RG_PPQ * 2;
        break;
    case 'q':
        t = RG_PPQ;
        break;
    case 'e':
        t = RG_PPQ / 2;
        break;
    case 's':
        t = RG_PPQ / 4;
        break;
    default:
        return -1;
    }
    i++;
    if (i < len && tok[i] == '.') {
        t += t / 2;
        i++;
    }
    if (i != len)
        return -1;
    *ticks = t;
    return 0;
}

/*
 * Parse one pass of a voice. Bar lines must fall on the bar grid (offset by
 * the pickup) and the pass must end on it too, so repetition stays in time.
 */
static int
rg_voice_parse(const struct rg_tune *tune, const char *what, const char *src,
               uint32_t bar_ticks, struct rg_voice *v, uint32_t *pass_ticks)
{
    const char *p = src;
    uint32_t    now = 0;
    unsigned    tokens = 0;

    v->n = 0;
    while (*p != '\0') {
        size_t   len;
        int      key;
        uint32_t ticks;

        if (*p == ' ') {
            p++;
            continue;
        }
        len = strcspn(p, " ");
        if (++tokens > RG_TOKENS_MAX || len > RG_TOKEN_LEN_MAX) {
            fprintf(stderr, "vas-ringgen: %s %s: too many or too long tokens\n",
                    tune->slug, what);
            return -1;
        }
        if (len == 1 && *p == '|') {
            if (now < tune->pickup || (now - tune->pickup) % bar_ticks != 0) {
                fprintf(stderr,
                        "vas-ringgen: %s %s: bar line at tick %u "
                        "is off the bar grid (token %u)\n",
                        tune->slug, what, now, tokens);
                return -1;
            }
            p += len;
            continue;
        }
        if (rg_parse_token(p, len, &key, &ticks) != 0) {
            fprintf(stderr, "vas-ringgen: %s %s: bad note '%.*s'\n", tune->slug,
                    what, (int) len, p);
            return -1;
        }
        if (v->n >= RG_NOTES_MAX)
            return -1;
        v->notes[v->n++] = (struct rg_note){now, ticks, key};
        now += ticks;
        p += len;
    }
    if (now == 0 || now % bar_ticks != 0) {
        fprintf(stderr,
                "vas-ringgen: %s %s: length %u ticks is not whole "
                "bars of %u\n",
                tune->slug, what, now, bar_ticks);
        return -1;
    }
    *pass_ticks = now;
    return 0;
}

/* Repeat the first pass in place until the voice holds reps passes. */
static int
rg_voice_repeat(struct rg_voice *v, uint32_t pass_ticks, int reps)
{
    size_t one = v->n;

    if (one * (size_t) reps > RG_NOTES_MAX)
        return -1;
    for (int r = 1; r < reps; r++) {
        for (size_t i = 0; i < one; i++) {
            struct rg_note n = v->notes[i];

            n.start += (uint32_t) r * pass_ticks;
            v->notes[v->n++] = n;
        }
    }
    return 0;
}

/* ---- automatic bass ------------------------------------------------------
 * Per bar, pick the chord of the key whose tones cover most of the melody's
 * sounding time in that bar (root weighted double, earlier candidates win
 * ties), then play root and fifth in the meter's pattern. The last bar
 * resolves to the tonic.
 */
struct rg_chord {
    int root;  /* semitones above the tonic */
    int third; /* 3 or 4 */
};

static const struct rg_chord rg_chords_major[] = {
    {0, 4}, {7, 4}, {5, 4}, {9, 3}, {2, 3},
};
static const struct rg_chord rg_chords_minor[] = {
    {0, 3}, {7, 4}, {5, 3}, {8, 4}, {3, 4}, {10, 4},
};

static void
rg_bar_weights(const struct rg_voice *mel, uint32_t b0, uint32_t b1,
               uint32_t w[12])
{
    memset(w, 0, 12 * sizeof w[0]);
    for (size_t i = 0; i < mel->n; i++) {
        const struct rg_note *n = &mel->notes[i];
        uint32_t              s = n->start > b0 ? n->start : b0;
        uint32_t e = n->start + n->dur < b1 ? n->start + n->dur : b1;

        if (n->start >= b1)
            break;
        if (n->key >= 0 && e > s)
            w[n->key % 12] += e - s;
    }
}

static int
rg_bar_chord_root(const struct rg_score *sc, uint32_t b0, uint32_t b1, int prev)
{
    const struct rg_chord *ch = sc->minor ? rg_chords_minor : rg_chords_major;
    size_t   nch = sc->minor ? sizeof rg_chords_minor / sizeof ch[0]
                             : sizeof rg_chords_major / sizeof ch[0];
    uint32_t w[12];
    uint64_t best_score = 0;
    int      best = prev;

    rg_bar_weights(&sc->melody, b0, b1, w);
    for (size_t c = 0; c < nch; c++) {
        int      r = (sc->tonic + ch[c].root) % 12;
        uint64_t score =
            3u * w[r] + 2u * w[(r + ch[c].third) % 12] + 2u * w[(r + 7) % 12];

        score = score * 16u + (uint64_t) (nch - c); /* tie-break */
        if (score > best_score && score >= 16u) {
            best_score = score;
            best = r;
        }
    }
    return best;
}

static int
rg_bass_add(struct rg_voice *v, uint32_t start, uint32_t dur, int key)
{
    if (dur == 0)
        return 0;
    if (v->n >= RG_NOTES_MAX)
        return -1;
    v->notes[v->n++] = (struct rg_note){start, dur, key};
    return 0;
}

static int
rg_bass_auto(struct rg_score *sc)
{
    const struct rg_tune *t = sc->tune;
    unsigned              segs = 1;
    int                   root = sc->tonic;

    if (t->meter_num % 2 == 0)
        segs = 2; /* 2/4, 4/4, 6/8: root, fifth */
    else if (t->meter_num == 3 && t->meter_den == 4)
        segs = 3; /* 3/4: oom-pah-pah */
    sc->bass.n = 0;
    if (rg_bass_add(&sc->bass, 0, t->pickup, -1) != 0)
        return -1;
    for (unsigned bar = 0; bar < RG_BARS_MAX; bar++) {
        uint32_t b0 = t->pickup + bar * sc->bar_ticks;
        uint32_t seg = sc->bar_ticks / segs;
        int      key;

        if (b0 >= sc->total_ticks)
            return 0;
        root = rg_bar_chord_root(sc, b0, b0 + sc->bar_ticks, root);
        if (b0 + sc->bar_ticks >= sc->total_ticks)
            root = sc->tonic;
        key = 40 + (root - 4 + 12) % 12; /* E2 .. D#3 */
        for (unsigned s = 0; s < segs; s++) {
            uint32_t st = b0 + s * seg;
            uint32_t en = st + seg;

            if (st >= sc->total_ticks)
                break;
            if (en > sc->total_ticks)
                en = sc->total_ticks;
            if (rg_bass_add(&sc->bass, st, en - st, s == 0 ? key : key + 7)
                != 0)
                return -1;
        }
    }
    return -1;
}

/* ---- score building ------------------------------------------------------ */
static struct rg_score *
rg_score_new(int index)
{
    const struct rg_tune *t = &rg_tunes[index];
    struct rg_score      *sc = calloc(1, sizeof *sc);
    uint32_t              bass_ticks = 0;
    double                pass_s;

    if (sc == NULL) {
        fprintf(stderr, "vas-ringgen: out of memory\n");
        return NULL;
    }
    sc->tune = t;
    if (rg_parse_key(t->key, &sc->tonic, &sc->minor) != 0 || t->bpm <= 0
        || t->meter_num <= 0 || (t->meter_den != 4 && t->meter_den != 8)) {
        fprintf(stderr, "vas-ringgen: %s: bad key/tempo/meter\n", t->slug);
        goto fail;
    }
    sc->bar_ticks =
        (uint32_t) t->meter_num * RG_PPQ * 4u / (uint32_t) t->meter_den;
    if (t->pickup >= sc->bar_ticks)
        goto fail;
    if (rg_voice_parse(t, "melody", t->melody, sc->bar_ticks, &sc->melody,
                       &sc->pass_ticks)
        != 0)
        goto fail;
    pass_s = rg_ticks_to_seconds(sc->pass_ticks, t->bpm);
    sc->reps = (int) ceil((double) RG_SECONDS_MIN / pass_s);
    if (sc->reps < 1)
        sc->reps = 1;
    if (sc->reps > RG_REPEAT_MAX || pass_s * sc->reps > RG_SECONDS_MAX + 1e-9) {
        fprintf(stderr,
                "vas-ringgen: %s: %.1f s per pass cannot make "
                "%u..%u s\n",
                t->slug, pass_s, RG_SECONDS_MIN, RG_SECONDS_MAX);
        goto fail;
    }
    sc->total_ticks = sc->pass_ticks * (uint32_t) sc->reps;
    if (rg_voice_repeat(&sc->melody, sc->pass_ticks, sc->reps) != 0)
        goto fail;
    if (t->bass != NULL) {
        if (rg_voice_parse(t, "bass", t->bass, sc->bar_ticks, &sc->bass,
                           &bass_ticks)
            != 0)
            goto fail;
        if (bass_ticks != sc->pass_ticks) {
            fprintf(stderr,
                    "vas-ringgen: %s: bass is %u ticks, melody "
                    "%u\n",
                    t->slug, bass_ticks, sc->pass_ticks);
            goto fail;
        }
        if (rg_voice_repeat(&sc->bass, sc->pass_ticks, sc->reps) != 0)
            goto fail;
    } else if (rg_bass_auto(sc) != 0) {
        fprintf(stderr, "vas-ringgen: %s: bass does not fit\n", t->slug);
        goto fail;
    }
    return sc;
fail:
    free(sc);
    return NULL;
}

/* ---- output files -------------------------------------------------------- */
static int
rg_out_open(struct rg_out *o, const char *path)
{
    /* o is being filled here: cppcheck's cross-function check misreads
     * "sizeof o->path" as a use of the uninitialised struct. */
    // cppcheck-suppress ctuuninitvar
    int n1 = snprintf(o->path, sizeof o->path, "%s", path);
    int n2 = snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);

    o->err = 0;
    o->fp = NULL;
    if (n1 < 0 || n2 < 0 || (size_t) n2 >= sizeof o->tmp) {
        fprintf(stderr, "vas-ringgen: path too long: %s\n", path);
        return -1;
    }
    o->fp = fopen(o->tmp, "wb");
    if (o->fp == NULL) {
        fprintf(stderr, "vas-ringgen: %s: %s\n", o->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static void
rg_out_write(struct rg_out *o, const void *p, size_t n)
{
    if (o->err == 0 && n > 0 && fwrite(p, 1, n, o->fp) != n)
        o->err = errno != 0 ? errno : EIO;
}

/* Close, and rename into place only if every write succeeded. */
static int
rg_out_close(struct rg_out *o)
{
    if (o->fp == NULL)
        return -1;
    if (o->err == 0 && fflush(o->fp) != 0)
        o->err = errno;
    if (o->err == 0 && ferror(o->fp))
        o->err = EIO;
    if (fclose(o->fp) != 0 && o->err == 0)
        o->err = errno;
    o->fp = NULL;
    if (o->err == 0 && rename(o->tmp, o->path) != 0)
        o->err = errno;
    if (o->err != 0) {
        fprintf(stderr, "vas-ringgen: %s: %s\n", o->path, strerror(o->err));
        (void) unlink(o->tmp);
        return -1;
    }
    return 0;
}

/* ---- MIDI --------------------------------------------------------------- */
static void
rg_buf_put(struct rg_buf *b, const void *p, size_t n)
{
    if (b->err)
        return;
    if (b->len + n > b->cap) {
        size_t   cap = b->cap != 0 ? b->cap : 4096;
        uint8_t *d;

        while (cap < b->len + n)
            cap *= 2;
        if (cap > RG_MIDI_BYTES_MAX) {
            b->err = 1;
            return;
        }
        d = realloc(b->data, cap);
        if (d == NULL) {
            b->err = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void
rg_buf_byte(struct rg_buf *b, unsigned v)
{
    uint8_t c = (uint8_t) v;

    rg_buf_put(b, &c, 1);
}

static void
rg_buf_be32(struct rg_buf *b, uint32_t v)
{
    uint8_t c[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16),
                    (uint8_t) (v >> 8), (uint8_t) v};

    rg_buf_put(b, c, 4);
}

/* MIDI variable-length quantity: 7 bits per byte, high bit = more follows. */
static void
rg_buf_vlq(struct rg_buf *b, uint32_t v)
{
    uint8_t tmp[5];
    int     n = 0;

    v &= 0x0fffffffu;
    do {
        tmp[n++] = (uint8_t) (v & 0x7f);
        v >>= 7;
    } while (v != 0 && n < 5);
    while (n > 0) {
        n--;
        rg_buf_byte(b, tmp[n] | (n > 0 ? 0x80u : 0u));
    }
}

static void
rg_midi_meta(struct rg_buf *b, unsigned type, const void *p, size_t n)
{
    rg_buf_vlq(b, 0);
    rg_buf_byte(b, 0xff);
    rg_buf_byte(b, type);
    rg_buf_vlq(b, (uint32_t) n);
    rg_buf_put(b, p, n);
}

/* Start an MTrk chunk; returns where its length goes. */
static size_t
rg_midi_track_begin(struct rg_buf *b)
{
    size_t at;

    rg_buf_put(b, "MTrk", 4);
    at = b->len;
    rg_buf_be32(b, 0);
    return at;
}

static void
rg_midi_track_end(struct rg_buf *b, size_t len_at, uint32_t delta)
{
    uint32_t len;

    rg_buf_vlq(b, delta);
    rg_buf_byte(b, 0xff);
    rg_buf_byte(b, 0x2f);
    rg_buf_byte(b, 0x00);
    if (b->err)
        return;
    len = (uint32_t) (b->len - len_at - 4);
    b->data[len_at] = (uint8_t) (len >> 24);
    b->data[len_at + 1] = (uint8_t) (len >> 16);
    b->data[len_at + 2] = (uint8_t) (len >> 8);
    b->data[len_at + 3] = (uint8_t) len;
}

static uint32_t
rg_gate(uint32_t dur)
{
    uint32_t g = dur * 9u / 10u;

    return g > 0 ? g : 1;
}

static void
rg_midi_voice_track(struct rg_buf *b, const struct rg_voice *v,
                    const char *name, unsigned ch, int program, unsigned vel,
                    uint32_t total_ticks)
{
    size_t   at = rg_midi_track_begin(b);
    uint32_t now = 0;

    rg_midi_meta(b, 0x03, name, strlen(name));
    rg_buf_vlq(b, 0);
    rg_buf_byte(b, 0xc0 | ch);
    rg_buf_byte(b, (unsigned) program & 0x7f);
    rg_buf_vlq(b, 0);
    rg_buf_byte(b, 0xb0 | ch); /* channel volume */
    rg_buf_byte(b, 7);
    rg_buf_byte(b, 100);
    for (size_t i = 0; i < v->n; i++) {
        const struct rg_note *n = &v->notes[i];
        uint32_t              off = n->start + rg_gate(n->dur);

        if (n->key < 0)
            continue;
        rg_buf_vlq(b, n->start - now);
        rg_buf_byte(b, 0x90 | ch);
        rg_buf_byte(b, (unsigned) n->key);
        rg_buf_byte(b, vel);
        rg_buf_vlq(b, off - n->start);
        rg_buf_byte(b, 0x80 | ch);
        rg_buf_byte(b, (unsigned) n->key);
        rg_buf_byte(b, 64);
        now = off;
    }
    rg_midi_track_end(b, at, total_ticks > now ? total_ticks - now : 0);
}

/* Format 1: a conductor track (names, meter, tempo), melody, bass. */
static int
rg_midi_build(const struct rg_score *sc, struct rg_buf *b)
{
    const struct rg_tune *t = sc->tune;
    uint32_t              usec_per_q = 60000000u / (uint32_t) t->bpm;
    uint8_t               tempo[3] = {(uint8_t) (usec_per_q >> 16),
                                      (uint8_t) (usec_per_q >> 8), (uint8_t) usec_per_q};
    uint8_t               timesig[4] = {(uint8_t) t->meter_num,
                                        (uint8_t) (t->meter_den == 8 ? 3 : 2), 24, 8};
    char                  text[RG_TEXT_MAX];
    size_t                at;
    int                   n;

    rg_buf_put(b, "MThd", 4);
    rg_buf_be32(b, 6);
    rg_buf_byte(b, 0);
    rg_buf_byte(b, 1); /* format 1 */
    rg_buf_byte(b, 0);
    rg_buf_byte(b, 3); /* tracks */
    rg_buf_byte(b, RG_PPQ >> 8);
    rg_buf_byte(b, RG_PPQ & 0xff);

    at = rg_midi_track_begin(b);
    rg_midi_meta(b, 0x03, t->title, strlen(t->title));
    n = snprintf(text, sizeof text, "%s - vas-ringgen demo content", t->artist);
    if (n > 0)
        rg_midi_meta(b, 0x01, text,
                     (size_t) n < sizeof text ? (size_t) n : sizeof text - 1);
    rg_midi_meta(b, 0x58, timesig, sizeof timesig);
    rg_midi_meta(b, 0x51, tempo, sizeof tempo);
    rg_midi_track_end(b, at, sc->total_ticks);

    rg_midi_voice_track(b, &sc->melody, "Melody", RG_CH_MELODY, t->program,
                        RG_VEL_MELODY, sc->total_ticks);
    rg_midi_voice_track(b, &sc->bass, "Bass", RG_CH_BASS, t->bass_program,
                        RG_VEL_BASS, sc->total_ticks);
    return b->err ? -1 : 0;
}

static int
rg_cmd_midi(const struct rg_score *sc, const char *path)
{
    struct rg_buf b = {0};
    struct rg_out o;
    int           rc = -1;

    if (rg_midi_build(sc, &b) != 0) {
        fprintf(stderr, "vas-ringgen: %s: MIDI file too large\n",
                sc->tune->slug);
        goto out;
    }
    if (rg_out_open(&o, path) != 0)
        goto out;
    rg_out_write(&o, b.data, b.len);
    rc = rg_out_close(&o);
out:
    free(b.data);
    return rc;
}

/* ---- synth -------------------------------------------------------------- */
/* A rough General MIDI family -> timbre map; enough to tell a koto from a lead.
 */
static struct rg_timbre
rg_timbre_for(int program)
{
    static const struct rg_timbre piano = {{1, .5f, .25f, .15f, .08f, .04f},
                                           .004f,
                                           .6f,
                                           .1f,
                                           .15f};
    static const struct rg_timbre mallet = {{1, 0, 0, .3f, 0, .05f},
                                            .002f,
                                            .35f,
                                            0,
                                            .2f};
    static const struct rg_timbre organ = {{1, .6f, .3f, .2f, .1f, .05f},
                                           .02f,
                                           .1f,
                                           .85f,
                                           .06f};
    static const struct rg_timbre pluck = {{1, .6f, .35f, .2f, .1f, .05f},
                                           .003f,
                                           .35f,
                                           0,
                                           .1f};
    static const struct rg_timbre bass = {{1, .5f, .2f, .1f, 0, 0},
                                          .005f,
                                          .4f,
                                          .35f,
                                          .08f};
    static const struct rg_timbre strings = {{1, .5f, .33f, .25f, .2f, .16f},
                                             .06f,
                                             .2f,
                                             .8f,
                                             .12f};
    static const struct rg_timbre brass = {{1, .7f, .5f, .3f, .2f, .1f},
                                           .03f,
                                           .15f,
                                           .75f,
                                           .08f};
    static const struct rg_timbre wind = {{1, .25f, .1f, .05f, 0, 0},
                                          .04f,
                                          .2f,
                                          .8f,
                                          .08f};
    static const struct rg_timbre lead = {{1, 0, .33f, 0, .2f, 0},
                                          .005f,
                                          .1f,
                                          .7f,
                                          .05f};

    if (program < 8)
        return piano;
    if (program < 16)
        return mallet;
    if (program < 24)
        return organ;
    if (program < 32)
        return pluck;
    if (program < 40)
        return bass;
    if (program == 45 || program == 46 || program == 47)
        return pluck;
    if (program < 56)
        return strings;
    if (program < 64)
        return brass;
    if (program < 80)
        return wind;
    if (program < 88)
        return lead;
    if (program >= 104 && program <= 108)
        return pluck;
    if (program >= 109 && program <= 111)
        return organ;
    if (program >= 112 && program <= 119)
        return mallet;
    return piano;
}

static float
rg_env(const struct rg_timbre *tb, double t, double t_off)
{
    double held = t < t_off ? t : t_off;
    double lvl;

    if (held < tb->attack_s)
        lvl = held / tb->attack_s;
    else
        lvl = tb->sustain
            + (1.0 - tb->sustain) * exp(-(held - tb->attack_s) / tb->tau_s);
    if (t >= t_off) {
        double r = (t - t_off) / tb->release_s;

        lvl = r >= 1.0 ? 0.0 : lvl * (1.0 - r);
    }
    return (float) lvl;
}

static void
rg_synth_voice(const struct rg_voice *v, int bpm, int program, float gain,
               long rate, float *buf, size_t len)
{
    struct rg_timbre tb = rg_timbre_for(program);
    float            norm = 0;

    for (int h = 0; h < RG_HARMONICS; h++)
        norm += tb.harm[h];
    for (size_t i = 0; i < v->n; i++) {
        const struct rg_note *n = &v->notes[i];
        size_t                s0, s_off, s_end;
        double                f, t_off;

        if (n->key < 0)
            continue;
        s0 = (size_t) rg_ticks_to_samples(n->start, bpm, rate);
        s_off =
            (size_t) rg_ticks_to_samples(n->start + rg_gate(n->dur), bpm, rate);
        s_end = s_off + (size_t) (tb.release_s * (float) rate) + 1;
        if (s_end > len)
            s_end = len;
        f = 440.0 * pow(2.0, (n->key - 69) / 12.0);
        t_off = (double) (s_off - s0) / (double) rate;
        for (size_t s = s0; s < s_end; s++) {
            double t = (double) (s - s0) / (double) rate;
            double acc = 0;

            for (int h = 0; h < RG_HARMONICS; h++) {
                double fh = f * (h + 1);

                if (tb.harm[h] == 0 || fh >= 0.45 * (double) rate)
                    continue;
                acc += tb.harm[h] * sin(2.0 * M_PI * fh * t);
            }
            buf[s] += gain * rg_env(&tb, t, t_off) * (float) (acc / norm);
        }
    }
}

/*
 * Render the score to 16-bit PCM. max_seconds > 0 cuts the rendering short
 * (previews) with a fade-out. Caller frees *out.
 */
static int
rg_pcm_render(const struct rg_score *sc, long rate, long max_seconds,
              int16_t **out, size_t *out_n)
{
    const struct rg_tune *t = sc->tune;
    size_t len = (size_t) rg_ticks_to_samples(sc->total_ticks, t->bpm, rate)
        + (size_t) rate * RG_TAIL_MS / 1000u;
    size_t   fade = 0;
    float   *buf;
    int16_t *pcm;
    float    peak = 0, scale;

    if (max_seconds > 0 && (size_t) (max_seconds * rate) < len) {
        len = (size_t) (max_seconds * rate);
        fade = (size_t) rate * RG_FADE_MS / 1000u;
    }
    buf = calloc(len, sizeof *buf);
    pcm = calloc(len, sizeof *pcm);
    if (buf == NULL || pcm == NULL) {
        fprintf(stderr, "vas-ringgen: out of memory\n");
        free(buf);
        free(pcm);
        return -1;
    }
    rg_synth_voice(&sc->melody, t->bpm, t->program, 0.6f, rate, buf, len);
    rg_synth_voice(&sc->bass, t->bpm, t->bass_program, 0.35f, rate, buf, len);
    for (size_t i = 0; i < len; i++) {
        if (fade > 0 && i + fade > len)
            buf[i] *= (float) (len - i) / (float) fade;
        if (fabsf(buf[i]) > peak)
            peak = fabsf(buf[i]);
    }
    scale = peak > 0 ? 0.8f * 32767.0f / peak : 0;
    for (size_t i = 0; i < len; i++)
        pcm[i] = (int16_t) lrintf(buf[i] * scale);
    free(buf);
    *out = pcm;
    *out_n = len;
    return 0;
}

/* ---- WAV ---------------------------------------------------------------- */
static void
rg_le(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static int
rg_wav_write(const char *path, const int16_t *pcm, size_t n, long rate)
{
    uint8_t       h[44];
    uint8_t       chunk[2048];
    uint32_t      data_bytes = (uint32_t) (n * 2);
    struct rg_out o;

    memcpy(h, "RIFF", 4);
    rg_le(h + 4, 36 + data_bytes, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    rg_le(h + 16, 16, 4); /* fmt chunk size */
    rg_le(h + 20, 1, 2);  /* PCM */
    rg_le(h + 22, 1, 2);  /* mono */
    rg_le(h + 24, (uint32_t) rate, 4);
    rg_le(h + 28, (uint32_t) rate * 2, 4); /* byte rate */
    rg_le(h + 32, 2, 2);                   /* block align */
    rg_le(h + 34, 16, 2);                  /* bits per sample */
    memcpy(h + 36, "data", 4);
    rg_le(h + 40, data_bytes, 4);
    if (rg_out_open(&o, path) != 0)
        return -1;
    rg_out_write(&o, h, sizeof h);
    for (size_t i = 0; i < n;) {
        size_t k = 0;

        for (; k < sizeof chunk / 2 && i < n; k++, i++)
            rg_le(chunk + 2 * k, (uint16_t) pcm[i], 2);
        rg_out_write(&o, chunk, 2 * k);
    }
    return rg_out_close(&o);
}

static int
rg_cmd_wav(const struct rg_score *sc, const char *path, long rate,
           long max_seconds)
{
    int16_t *pcm = NULL;
    size_t   n = 0;
    int      rc;

    if (rg_pcm_render(sc, rate, max_seconds, &pcm, &n) != 0)
        return -1;
    rc = rg_wav_write(path, pcm, n, rate);
    free(pcm);
    return rc;
}

/* ---- AMR-NB --------------------------------------------------------------
 * RFC 4867 section 5 storage format: "#!AMR\n", then one frame per 20 ms,
 * each with its own table-of-contents byte (as Encoder_Interface_Encode
 * returns them).
 */
static int
rg_cmd_amr(const struct rg_score *sc, const char *path)
{
    int16_t      *pcm = NULL;
    size_t        n = 0;
    void         *enc = NULL;
    struct rg_out o;
    int           rc = -1;

    if (rg_pcm_render(sc, RG_AMR_RATE, 0, &pcm, &n) != 0)
        return -1;
    enc = Encoder_Interface_init(0);
    if (enc == NULL) {
        fprintf(stderr, "vas-ringgen: AMR encoder init failed\n");
        goto out;
    }
    if (rg_out_open(&o, path) != 0)
        goto out;
    rg_out_write(&o, "#!AMR\n", 6);
    for (size_t i = 0; i < n; i += RG_AMR_FRAME) {
        short         frame[RG_AMR_FRAME];
        unsigned char bytes[RG_AMR_BYTES_MAX];
        size_t        k = n - i < RG_AMR_FRAME ? n - i : RG_AMR_FRAME;
        int           len;

        memset(frame, 0, sizeof frame);
        memcpy(frame, pcm + i, k * sizeof frame[0]);
        len = Encoder_Interface_Encode(enc, MR122, frame, bytes, 0);
        if (len <= 0 || (size_t) len > sizeof bytes) {
            fprintf(stderr,
                    "vas-ringgen: AMR encode failed at frame "
                    "%zu\n",
                    i / RG_AMR_FRAME);
            o.err = EIO;
            break;
        }
        rg_out_write(&o, bytes, (size_t) len);
    }
    rc = rg_out_close(&o);
out:
    if (enc != NULL)
        Encoder_Interface_exit(enc);
    free(pcm);
    return rc;
}

/* ---- list -----------------------------------------------------------------
 */
/* index, slug, title, artist, category, bpm, seconds, GM program (TAB
 * separated) */
static int
rg_cmd_list(void)
{
    for (int i = 0; i < RG_TUNES_N; i++) {
        const struct rg_tune *t = &rg_tunes[i];
        struct rg_score      *sc = rg_score_new(i);

        if (sc == NULL)
            return -1;
        printf("%d\t%s\t%s\t%s\t%s\t%d\t%.1f\t%d\n", i, t->slug, t->title,
               t->artist, t->category, t->bpm,
               rg_ticks_to_seconds(sc->total_ticks, t->bpm), t->program);
        free(sc);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "vas-ringgen: stdout: write error\n");
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct rg_score *sc;
    long             index, rate = RG_RATE_DEFAULT, max_seconds = 0;
    int              rc;

    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return rg_cmd_list() == 0 ? 0 : 1;
    if (argc < 4)
        rg_die_usage();
    if (rg_parse_long(argv[3], 0, RG_TUNES_N - 1, &index) != 0) {
        fprintf(stderr, "vas-ringgen: no tune '%s' (0..%d)\n", argv[3],
                RG_TUNES_N - 1);
        return 2;
    }
    if (strcmp(argv[1], "wav") == 0 && argc <= 6) {
        if (argc >= 5
            && rg_parse_long(argv[4], RG_RATE_MIN, RG_RATE_MAX, &rate) != 0) {
            fprintf(stderr, "vas-ringgen: bad rate '%s'\n", argv[4]);
            return 2;
        }
        if (argc == 6
            && rg_parse_long(argv[5], 1, RG_SECONDS_MAX, &max_seconds) != 0) {
            fprintf(stderr, "vas-ringgen: bad seconds '%s'\n", argv[5]);
            return 2;
        }
    } else if (argc != 4
               || (strcmp(argv[1], "midi") != 0
                   && strcmp(argv[1], "amr") != 0)) {
        rg_die_usage();
    }
    sc = rg_score_new((int) index);
    if (sc == NULL)
        return 1;
    if (strcmp(argv[1], "midi") == 0)
        rc = rg_cmd_midi(sc, argv[2]);
    else if (strcmp(argv[1], "amr") == 0)
        rc = rg_cmd_amr(sc, argv[2]);
    else
        rc = rg_cmd_wav(sc, argv[2], rate, max_seconds);
    free(sc);
    return rc == 0 ? 0 : 1;
}
