/* memviz: diagnostics for each ownership rule (rules.c). */
#pragma once

#include "mv.h"

/* The statement's source text, without indentation or comment. */
void mv_stmt_text(const mv_engine *e, const mv_stmt *s, char *buf, size_t n);

void mv_err_moved(mv_engine *e, const mv_var *v, mv_loc loc);
void mv_err_double_drop(mv_engine *e, const mv_var *v, mv_loc loc);
void mv_err_uninit(mv_engine *e, const mv_var *v, mv_loc loc);
/* ref: the live borrow in the way, or NULL with pend: a call argument. */
void mv_err_conflict(mv_engine *e, mv_loc loc, const char *what, const mv_var *ref,
                     const mv_pending *pend);
void mv_err_stale(mv_engine *e, mv_var *ref, mv_loc loc);
/* block: the block whose end drops owner, NULL at a function's end. */
void mv_err_dangling(mv_engine *e, const mv_var *owner, const mv_var *ref, mv_loc end,
                     const mv_stmt *block);
void mv_err_move_borrowed(mv_engine *e, const mv_var *owner, mv_loc loc, bool is_drop,
                          const mv_var *ref, const mv_pending *pend);
void mv_err_move_out_of_borrow(mv_engine *e, const char *name, mv_loc loc, bool via_rc, bool mut);
void mv_err_shared_write(mv_engine *e, const mv_var *ref, mv_loc loc);
void mv_err_leak(mv_engine *e, const mv_var *v, const mv_block *b);
void mv_err_type(mv_engine *e, mv_loc loc, const char *label, const char *msg);
