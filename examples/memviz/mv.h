/* memviz internals: the AST, the name resolver, the ownership engine
 * (checker and interpreter share it), diagnostics and the renderers.
 *
 * Memory: everything the parser builds (tokens' text, statements, lists)
 * lives in one rv_arena owned by mv_program and is freed with it. The
 * engine's run-time state (variables, heap blocks, events, diagnostics)
 * lives in rv_vecs owned by mv_engine / mv_diags. Not thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rivet/core/arena.h>
#include <rivet/core/bytes.h>
#include <rivet/core/err.h>
#include <rivet/core/vec.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element i of a vector when i < len is known (RV_VEC_AT returns NULL out
 * of range; every caller here indexes within range, and this form tells
 * the compiler so). */
#define MV_AT(v, T, i) (&RV_VEC_DATA((v), T)[(i)])

/* A source position: 1-based line and column, and the width to underline. */
typedef struct mv_loc {
  uint32_t line, col, len;
} mv_loc;

typedef enum mv_expr_kind {
  MV_E_INT,    /* 5 */
  MV_E_BOX,    /* box 5 */
  MV_E_STRING, /* string "hi" */
  MV_E_NAME,   /* a            (move, or copy for ints and shared borrows) */
  MV_E_REF,    /* &a */
  MV_E_REFMUT, /* &mut a */
  MV_E_RC,     /* rc a         (moves a into a reference-counted block) */
  MV_E_CLONE,  /* clone a */
  MV_E_DEREF,  /* *a */
} mv_expr_kind;

typedef struct mv_expr {
  mv_expr_kind kind;
  int64_t ival;     /* MV_E_INT, MV_E_BOX */
  const char *str;  /* MV_E_STRING: the text (arena, NUL-terminated) */
  size_t str_len;   /* MV_E_STRING */
  const char *name; /* operand name for the other kinds */
  mv_loc loc;       /* the whole expression */
  mv_loc name_loc;  /* the operand name */
  int binding;      /* resolved binding of name, -1 if none */
} mv_expr;

typedef enum mv_param_mode { MV_P_OWN, MV_P_REF, MV_P_REFMUT } mv_param_mode;

typedef struct mv_param {
  const char *name;
  mv_loc loc;
  mv_param_mode mode;
  int binding;
} mv_param;

typedef enum mv_stmt_kind {
  MV_S_LET,    /* let x = e  |  let x */
  MV_S_ASSIGN, /* x = e */
  MV_S_STORE,  /* *x = e */
  MV_S_PRINT,  /* print x */
  MV_S_DROP,   /* drop(x) */
  MV_S_BLOCK,  /* { ... } */
  MV_S_FN,     /* fn f(a: own, b: &, c: &mut) { ... } */
  MV_S_CALL,   /* f(a, &b, &mut c) */
} mv_stmt_kind;

typedef struct mv_stmt {
  mv_stmt_kind kind;
  mv_loc loc;         /* the statement's first token */
  uint32_t seq;       /* pre-order number, for borrow liveness */
  uint32_t end_seq;   /* blocks and functions: number of the closing brace */
  const char *name;   /* LET/ASSIGN/STORE/PRINT/DROP: the variable; FN/CALL: the function */
  mv_loc name_loc;    /* where name is */
  int binding;        /* resolved binding of name */
  bool has_init;      /* LET: false for `let x` */
  mv_expr e;          /* LET (if has_init), ASSIGN, STORE */
  rv_vec body;        /* BLOCK/FN: mv_stmt * */
  mv_loc end_loc;     /* BLOCK/FN: the closing brace */
  rv_vec params;      /* FN: mv_param */
  rv_vec args;        /* CALL: mv_expr */
  struct mv_stmt *fn; /* CALL: the definition */
} mv_stmt;

/* A declared name: a variable, parameter or function. */
typedef struct mv_binding {
  const char *name;
  mv_loc decl;
  bool is_fn;
  uint32_t last_use; /* highest seq of a statement that uses it (0: never) */
  mv_stmt *fn;       /* is_fn: the definition */
} mv_binding;

/* One diagnostic: a primary location, up to three notes and an optional
 * fix (help text plus rewritten lines). */
#define MV_MAX_NOTES 3
#define MV_MAX_FIX 3
typedef struct mv_note {
  mv_loc loc;
  char text[160];
} mv_note;

typedef struct mv_fix_line {
  uint32_t line; /* line number shown in the gutter (0: a new line) */
  char text[200];
} mv_fix_line;

typedef enum mv_diag_class {
  MV_D_SYNTAX,    /* exit 2 */
  MV_D_NAME,      /* unknown names, wrong kinds: exit 2 */
  MV_D_OWNERSHIP, /* exit 1 */
} mv_diag_class;

typedef struct mv_diag {
  mv_diag_class cls;
  const char *rule; /* short rule id, e.g. "use-after-move" */
  char msg[200];
  mv_loc loc;
  char label[120];       /* text under the caret */
  const char *rule_text; /* the rule broken, in one sentence */
  mv_note notes[MV_MAX_NOTES];
  size_t nnotes;
  char help[200];
  mv_fix_line fix[MV_MAX_FIX];
  size_t nfix;
} mv_diag;

typedef struct mv_diags {
  rv_vec list; /* mv_diag */
  bool oom;    /* a diagnostic could not be stored */
} mv_diags;

/* alloc: where the list comes from (NULL: libc). */
void mv_diags_init(mv_diags *d, const rv_alloc *alloc);
void mv_diags_free(mv_diags *d);
/* Adds a diagnostic (deduplicated by rule and location); returns it, or
 * NULL if it was a duplicate or memory ran out (both are safe to ignore). */
mv_diag *mv_diag_add(mv_diags *d, mv_diag_class cls, const char *rule, mv_loc loc, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
void mv_diag_note(mv_diag *g, mv_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mv_diag_help(mv_diag *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mv_diag_fix(mv_diag *g, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The exit code the diagnostics call for: 0, 1 (ownership) or 2. */
int mv_diags_exit_code(const mv_diags *d);

/* A parsed script. */
typedef struct mv_program {
  rv_arena arena;
  const char *src; /* the source (arena copy, NUL-terminated) */
  size_t src_len;
  rv_vec lines;    /* size_t: byte offset where each line starts */
  rv_vec top;      /* mv_stmt *: the top-level statements */
  rv_vec bindings; /* mv_binding, filled by mv_resolve */
  uint32_t nseq;
  const rv_alloc *alloc; /* for the engine's and the resolver's vectors */
} mv_program;

/* Parses src (not necessarily NUL-terminated). Syntax errors go to diags.
 * Everything the program and the engine allocate comes from alloc (NULL:
 * libc), which must outlive the program.
 * Returns 0, RV_EMALFORMED (see diags) or RV_ENOMEM. The program must be
 * freed with mv_program_free() whatever the result. */
int mv_parse(mv_program *p, const char *src, size_t len, mv_diags *diags, const rv_alloc *alloc);
void mv_program_free(mv_program *p);
/* Source line n (1-based) without its newline; *len receives its length. */
const char *mv_program_line(const mv_program *p, uint32_t n, size_t *len);

/* Resolves names to bindings and computes last uses. 0, RV_EMALFORMED
 * (see diags) or RV_ENOMEM. */
int mv_resolve(mv_program *p, mv_diags *diags);

/* ---- engine ---- */
typedef enum mv_vkind { MV_V_UNINIT, MV_V_INT, MV_V_HEAP, MV_V_REF, MV_V_OPAQUE } mv_vkind;

typedef struct mv_value {
  int64_t i;       /* MV_V_INT */
  size_t block;    /* MV_V_HEAP: index into heap */
  uint64_t target; /* MV_V_REF: uid of the variable borrowed */
  mv_vkind kind;
  bool mut; /* MV_V_REF: a mutable borrow */
} mv_value;

typedef enum mv_vstate { MV_ST_LIVE, MV_ST_MOVED, MV_ST_UNINIT } mv_vstate;

typedef struct mv_var {
  const char *name;
  uint64_t uid;
  int binding;
  size_t frame;
  mv_value v;
  mv_vstate state;
  mv_loc decl;
  mv_loc moved_at;            /* MV_ST_MOVED: where */
  bool moved_by_drop;         /* ... and whether by drop() */
  const mv_stmt *moved_by;    /* MV_ST_MOVED: the statement that moved it */
  int moved_arg;              /* ... the argument index when it was a call, else -1 */
  const mv_stmt *decl_stmt;   /* the let that declared it (NULL for parameters) */
  mv_loc borrow_at;           /* MV_V_REF: where the borrow was taken */
  const mv_stmt *borrow_stmt; /* MV_V_REF: the statement that took it */
  bool stale;                 /* shared borrow whose owner was mutated since */
  const mv_stmt *stale_stmt;  /* ... by this statement */
  mv_loc stale_at;
  const char *owner_name; /* MV_V_REF: name of the variable borrowed */
} mv_var;

typedef enum mv_bkind { MV_B_BOX, MV_B_STRING, MV_B_RC } mv_bkind;

typedef struct mv_block {
  size_t id; /* 1-based, shown as #id */
  mv_bkind kind;
  size_t size;
  int64_t ival;    /* box: the integer; rc of an int: the integer */
  const char *str; /* string: the text (arena) */
  size_t str_len;
  size_t rc;    /* rc: strong count */
  size_t inner; /* rc holding a box/string: its index + 1, 0 if none */
  bool freed;
  bool owned_by_rc; /* the owner is an rc block, not a variable */
} mv_block;

typedef struct mv_frame {
  const char *fn; /* "main" or the function's name */
  size_t var_base;
  uint32_t cur_seq;
} mv_frame;

#define MV_EVENT_TEXT 200
typedef enum mv_ekind {
  MV_EV_FREE,   /* a block was freed */
  MV_EV_PRINT,  /* print output */
  MV_EV_CALL,   /* a function was entered */
  MV_EV_RETURN, /* a function returned */
  MV_EV_LEAK,   /* a block is still owned at exit */
  MV_EV_RC,     /* a reference count changed without freeing */
} mv_ekind;
typedef struct mv_event {
  mv_ekind kind;
  size_t block;       /* MV_EV_FREE / MV_EV_LEAK: block id */
  const char *reason; /* FREE: "scope end", "explicit drop", "last reference gone", ... */
  char text[MV_EVENT_TEXT];
} mv_event;

/* A borrow passed as an argument: live for the whole call. */
typedef struct mv_pending {
  uint64_t target;
  bool mut;
  mv_loc at;
} mv_pending;

/* Where a borrow value came from, carried with it into the variable. */
typedef struct mv_refinfo {
  const char *owner_name;
  mv_loc borrow_at;
  const struct mv_stmt *borrow_stmt;
} mv_refinfo;

struct mv_engine;
/* Called after each step in run mode. label: what the step did. */
typedef int (*mv_step_fn)(void *ctx, const struct mv_engine *e, uint32_t line, const char *label);

typedef struct mv_engine {
  mv_program *prog;
  mv_diags *diags;
  bool checking; /* check mode: record diagnostics, don't run function bodies */
  bool strict;
  rv_vec vars;    /* mv_var */
  rv_vec heap;    /* mv_block */
  rv_vec frames;  /* mv_frame */
  rv_vec events;  /* mv_event, cleared after each step */
  rv_vec pending; /* mv_pending: borrows held by the arguments of the call being set up */
  uint64_t next_uid;
  size_t steps;
  size_t max_steps;
  mv_step_fn on_step;
  void *ctx;
  int err;            /* first RV_E* error (RV_ENOMEM, RV_ELIMIT) */
  rv_vec by_seq;      /* mv_stmt *: statement for each pre-order number */
  const mv_stmt *cur; /* statement being executed */
  int cur_arg;        /* argument being evaluated, -1 outside calls */
} mv_engine;

/* ---- engine internals (engine.c, shared with exec.c) ---- */
int mv_engine_init(mv_engine *e, mv_program *prog, mv_diags *diags, bool checking);
void mv_engine_free(mv_engine *e);
mv_var *mv_var_find(mv_engine *e, int binding);
mv_var *mv_var_uid(mv_engine *e, uint64_t uid);
mv_var *mv_var_new(mv_engine *e, const char *name, int binding, mv_loc decl);
size_t mv_block_new(mv_engine *e, mv_bkind kind, size_t size);
mv_block *mv_block_at(const mv_engine *e, size_t index);
mv_frame *mv_frame_top(mv_engine *e);
/* True when the borrow held in var is used again later in its frame. */
bool mv_ref_live(const mv_engine *e, const mv_var *ref);
const mv_stmt *mv_stmt_by_seq(const mv_engine *e, uint32_t seq);
void mv_emit(mv_engine *e, mv_ekind kind, size_t block, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Releases what value owns (free, or decrement a count), with events. */
void mv_value_drop(mv_engine *e, const mv_value *v, const char *who, const char *reason);
/* Calls on_step (run mode) and clears the events. */
int mv_step(mv_engine *e, uint32_t line, const char *label);

#define MV_MAX_DEPTH 64
#define MV_MAX_STEPS 20000

/* Runs the checker over prog: 0 if clean, RV_EMALFORMED if it recorded
 * diagnostics, RV_ENOMEM. */
int mv_check(mv_program *prog, mv_diags *diags, bool strict);
/* Executes prog, calling on_step after each step. 0, RV_ELIMIT (too many
 * steps), RV_ENOMEM, RV_EMALFORMED (a run-time type error, in diags) or
 * the first non-zero value on_step returned. */
int mv_run(mv_program *prog, mv_diags *diags, mv_step_fn on_step, void *ctx);

/* Lookups for the renderers. */
const mv_var *mv_engine_var_by_uid(const mv_engine *e, uint64_t uid);
/* Describes who owns block (index): writes into buf ("a", "rc #3", ...). */
void mv_engine_block_owner(const mv_engine *e, size_t index, char *buf, size_t n);
const char *mv_block_kind_name(mv_bkind k);
/* A variable's value as text ("5", "box #1", "&b", "moved") into buf. */
void mv_var_describe(const mv_engine *e, const mv_var *v, char *val, size_t nval, char *state,
                     size_t nstate);
/* A block's contents as text ("5", "\"hi\"", "box #2"). */
void mv_block_describe(const mv_engine *e, const mv_block *b, char *buf, size_t n);

/* ---- rendering ---- */
void mv_diags_print(FILE *out, const mv_diags *d, const mv_program *p, const char *file,
                    bool color);

typedef struct mv_text_ctx {
  FILE *out;
  bool color;
} mv_text_ctx;
int mv_render_text_step(void *ctx, const mv_engine *e, uint32_t line, const char *label);

/* JSON: one object per step. */
int mv_render_json_step(void *ctx, const mv_engine *e, uint32_t line, const char *label);
/* Appends the JSON object for one step (no newline) to buf. */
int mv_json_step(rv_buf *buf, const mv_engine *e, uint32_t line, const char *label);
/* JSON string escaping into buf. */
int mv_json_str(rv_buf *buf, const char *s, size_t n);

typedef struct mv_html_ctx {
  rv_buf steps; /* JSON array contents so far */
  size_t n;
} mv_html_ctx;
int mv_render_html_step(void *ctx, const mv_engine *e, uint32_t line, const char *label);
/* Writes the page for the collected steps. 0 or RV_EIO. */
int mv_html_write(FILE *out, const mv_html_ctx *h, const mv_program *p, const char *file);

#ifdef __cplusplus
}
#endif
