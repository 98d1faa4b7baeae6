/* network/cni_internal.h — helpers shared by the CNI files. */
#ifndef SERVIN_CNI_INTERNAL_H
#define SERVIN_CNI_INTERNAL_H

/* Dotted version numbers: <0, 0, >0 as strcmp. */
int cni_version_cmp(const char *a, const char *b);

#endif
