/* jsonstr.h — JSON values written as plain text. */
#ifndef SERVIN_JSONSTR_H
#define SERVIN_JSONSTR_H

#include <jansson.h>

/* The strings of a JSON array joined by single spaces ("" for none or no array); a new string. */
char *servin_json_join_words(const json_t *list);

#endif
