/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Kernel-internal linux/log2.h, pyreplay's own: bcc's helpers.h includes it and uses nothing from it. */
#ifndef PYREPLAY_KSTUB_LINUX_LOG2_H
#define PYREPLAY_KSTUB_LINUX_LOG2_H
#endif
