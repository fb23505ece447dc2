/*
 * gw_version.h — the release of vasgw and vasctl (one place). The commit
 * is added at build time (build/gw_build.h, see the Makefile).
 */
#ifndef GW_VERSION_H
#define GW_VERSION_H

#define GW_VERSION "0.2.0"

#endif /* GW_VERSION_H */
