/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "eal_helper.h"

int wc_test_eal_init(const char *prog)
{
	static int done;
	char prefix[64];

	if (done)
		return 0;
	snprintf(prefix, sizeof(prefix), "--file-prefix=wct_%s_%d", prog, (int)getpid());
	char *argv[] = { (char *)prog,	"--no-huge", "-m",
			 "512",		"--no-pci",  "--no-telemetry",
			 "-l",		"0",	     "--log-level=lib.eal:error",
			 "--no-shconf", prefix,	     NULL };
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		return -rte_errno;
	done = 1;
	return 0;
}
