/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Kernel-internal linux/kconfig.h, pyreplay's own: bcc force-includes it into every program.
 * bcc's helpers.h stops with #error unless CONFIG_BPF_SYSCALL is defined.
 */
#ifndef PYREPLAY_KSTUB_LINUX_KCONFIG_H
#define PYREPLAY_KSTUB_LINUX_KCONFIG_H

#define CONFIG_BPF_SYSCALL 1

#endif
