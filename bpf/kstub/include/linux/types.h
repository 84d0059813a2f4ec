/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Kernel-internal linux/types.h, pyreplay's own: the uapi types plus the short kernel names
 * (u8..s64, size_t, bool) that bcc's helpers and our programs use.
 * The guard differs from uapi's _LINUX_TYPES_H so both files are read.
 */
#ifndef PYREPLAY_KSTUB_LINUX_TYPES_H
#define PYREPLAY_KSTUB_LINUX_TYPES_H

#include <uapi/linux/types.h>

typedef __u8 u8;
typedef __s8 s8;
typedef __u16 u16;
typedef __s16 s16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;

typedef __kernel_size_t size_t;
typedef __kernel_ssize_t ssize_t;
typedef unsigned long uintptr_t;

typedef _Bool bool;
enum { false = 0, true = 1 };

#endif
