/* wordfreq: count the words of a text and print the most frequent ones.
 *
 * A tour of rivet-core's memory primitives:
 *   - the words' text lives in an rv_arena: one bump per new word, no free
 *     per word, everything released at once at the end;
 *   - the table is an rv_vec of {word, count} kept sorted by word, so a
 *     word is found by binary search and a new one goes in with
 *     rv_vec_insert();
 *   - the report is a second rv_vec, filled with RV_VEC_PUSH, sorted by
 *     count and walked with RV_VEC_FOREACH.
 * Every failure is an RV_E* code printed with rv_strerror().
 *
 *   wordfreq [-n N] [FILE]   (top N words, default 10; no FILE or "-": stdin)
 *
 * A word is a run of ASCII letters, digits or apostrophes, lowercased. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core.h>

typedef struct entry {
  const char *word; /* in the arena */
  size_t count;
} entry;

/* Binary search: the index of word, or where it would go; *found says which. */
static size_t find(const rv_vec *table, const char *word, int *found) {
  size_t lo = 0;
  size_t hi = rv_vec_len(table);
  const entry *e = table->data;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = strcmp(e[mid].word, word);
    if (cmp == 0) {
      *found = 1;
      return mid;
    }
    if (cmp < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *found = 0;
  return lo;
}

/* Count one word (word[0..len) in a scratch buffer). */
static int count_word(rv_vec *table, rv_arena *words, const char *word, size_t len) {
  (void)len;
  int found;
  size_t i = find(table, word, &found);
  if (found) {
    ((entry *)table->data)[i].count++;
    return RV_OK;
  }
  entry e = {rv_arena_memdup(words, word, len), 1};
  if (!e.word) {
    return RV_ENOMEM;
  }
  return rv_vec_insert(table, i, &e);
}

static int by_count(const void *a, const void *b) {
  const entry *x = a;
  const entry *y = b;
  if (x->count != y->count) {
    return x->count < y->count ? 1 : -1; /* most frequent first */
  }
  return strcmp(x->word, y->word); /* ties: alphabetical */
}

static int run(FILE *in, size_t top) {
  rv_arena words;
  rv_vec table;
  rv_vec report;
  int rc = rv_arena_init(&words, NULL, 0);
  if (rc != RV_OK) {
    return rc;
  }
  RV_VEC_INIT(&table, entry, NULL);
  RV_VEC_INIT(&report, entry, NULL);
  char word[256];
  size_t len = 0;
  size_t total = 0;
  int c;
  do {
    c = getc(in);
    if (c != EOF && (isalnum(c) || c == '\'') && c < 128) {
      if (len < sizeof word - 1) { /* longer words are cut, not rejected */
        word[len++] = (char)tolower(c);
      }
      continue;
    }
    if (len > 0) {
      word[len] = '\0';
      if ((rc = count_word(&table, &words, word, len)) != RV_OK) {
        goto fail;
      }
      total++;
      len = 0;
    }
  } while (c != EOF);
  if (ferror(in)) {
    rc = RV_EIO;
    goto fail;
  }
  /* The report: a copy of the table, by count. */
  if ((rc = rv_vec_reserve(&report, rv_vec_len(&table))) != RV_OK) {
    goto fail;
  }
  RV_VEC_FOREACH(&table, entry, e) {
    if ((rc = RV_VEC_PUSH(&report, entry, *e)) != RV_OK) {
      goto fail;
    }
  }
  if (rv_vec_len(&report) > 0) {
    qsort(report.data, rv_vec_len(&report), sizeof(entry), by_count);
  }
  rv_arena_stats st;
  rv_arena_stats_get(&words, &st);
  printf("%zu words, %zu distinct (%zu bytes of text in %zu arena chunk%s)\n", total,
         rv_vec_len(&table), st.used, st.chunks, st.chunks == 1 ? "" : "s");
  for (size_t i = 0; i < top && i < rv_vec_len(&report); i++) {
    const entry *e = RV_VEC_AT(&report, entry, i);
    if (e) {
      printf("%7zu  %s\n", e->count, e->word);
    }
  }
  rc = RV_OK;
fail:
  rv_vec_free(&report);
  rv_vec_free(&table);
  rv_arena_free(&words); /* every word at once */
  return rc;
}

static int usage(void) {
  fputs("usage: wordfreq [-n N] [FILE]\n", stderr);
  return 2;
}

int main(int argc, char **argv) {
  size_t top = 10;
  int i = 1;
  if (i + 1 < argc && strcmp(argv[i], "-n") == 0) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(argv[i + 1], &end, 10);
    if (errno != 0 || *end != '\0' || end == argv[i + 1] || argv[i + 1][0] == '-') {
      return usage();
    }
    top = (size_t)n;
    i += 2;
  }
  if (argc - i > 1 || (i < argc && argv[i][0] == '-' && argv[i][1] != '\0')) {
    return usage();
  }
  FILE *in = stdin;
  const char *name = "standard input";
  if (i < argc && strcmp(argv[i], "-") != 0) {
    name = argv[i];
    in = fopen(name, "r");
    if (!in) {
      fprintf(stderr, "wordfreq: %s: %s\n", name, strerror(errno));
      return 1;
    }
  }
  int rc = run(in, top);
  if (in != stdin) {
    fclose(in);
  }
  if (rc != RV_OK) {
    fprintf(stderr, "wordfreq: %s: %s\n", name, rv_strerror(rc));
    return 1;
  }
  return 0;
}
