// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * seccomp-gen's in-kernel recorder: counts the syscalls of one process tree, per ABI, with the
 * errno of each failed call, the values of the inspected arguments and the paths exec'd. User
 * space (src/trace/bpf/) fills the tables below before attaching, marks the tree's first process,
 * and reads every map once at the end.
 *
 * Whose calls: a process (thread group) is in the tree when procs[tgid].state is TRACKED. The
 * first process is marked WAITING_EXEC and joins at its next exec (so the exec child, or the
 * runtime's init, is not recorded before it becomes the program); every task a tracked process
 * forks joins (its threads are in by their tgid); a thread group leaves when its last thread
 * exits (signal->live is 0 by then). procs is an array of pid_max entries: the check every task
 * on the host pays on every syscall is one inlined array load.
 *
 * When a call is counted: at sys_exit. seccomp runs before sys_enter, so a call another filter
 * answers with an errno is seen only at exit (and one it kills is never seen). Two kinds of call
 * are handled apart:
 * - exit and exit_group never return: they are counted at sys_enter;
 * - a successful exec returns with the registers of the new program (the kernel rewrites orig_ax
 *   to the new ABI's execve), and rt_sigreturn with those of the interrupted code (orig_ax -1):
 *   for these (SI_ENTRY) sys_enter keeps the entry's ABI and number in task storage.
 * The child's side of a fork returns 0 through sys_exit too; strace shows only the parent's
 * call, and so do we. A call a signal interrupts (or whose thread is being killed) returns
 * ERESTART* at exit: strace prints `= ?` for it, and it is counted without an errno, as there.
 *
 * Nothing here is lost silently: every map insert that fails counts in stats[ST_DROPPED].
 */
#include "kernel-types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* ABI indexes, as src/trace/bpf/ names them */
#define ABI_X86_64 0
#define ABI_X86 1
#define ABI_X32 2
#define X32_BIT 0x40000000
#define TS_COMPAT 0x0002
#define SIGNAL_GROUP_EXIT 0x0004
/* syscall slots per ABI in sysinfo (numbers, x32 bit removed, below this) */
#define NR_SLOTS 1024
#define PATH_LEN 4096

/* sysinfo flags (low 6 bits: which arguments to keep, by kernel index) */
#define SI_ARGS 0x3f
#define SI_ENTRY 0x40 /* the exit cannot name the call: keep it at entry */
#define SI_FORK 0x80
#define SI_EXIT 0x100

/* EXITED: left the tree by dying (its status kept); not recorded, like UNTRACKED */
enum { UNTRACKED = 0, WAITING_EXEC = 1, TRACKED = 2, EXITED = 3 };
enum { ST_DROPPED, ST_TASKS, ST_LIVE, ST_COUNT };

struct proc {
	u32 state;
	u32 status; /* wait status (exit code << 8 | signal) once the thread group has died */
};

struct call_key {
	u32 abi;
	u32 nr;
};

struct err_key {
	u32 abi;
	u32 nr;
	u32 err;
	u32 pad;
};

struct arg_key {
	u32 abi;
	u32 nr;
	u32 idx;
	u32 pad;
	u64 value;
};

struct entry {
	u32 abi;
	u32 nr;
};

struct path {
	char s[PATH_LEN];
};

/* max_entries of procs is set to pid_max by user space before load */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768);
	__type(key, u32);
	__type(value, struct proc);
} procs SEC(".maps");

/* per ABI and syscall number: SI_* flags, filled from profiles/ by user space */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3 * NR_SLOTS);
	__type(key, u32);
	__type(value, u16);
} sysinfo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct call_key);
	__type(value, u64);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct err_key);
	__type(value, u64);
} errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct arg_key);
	__type(value, u8);
} args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct path);
	__type(value, u8);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct path);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct entry);
} entered SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_COUNT);
	__type(key, u32);
	__type(value, s64);
} stats SEC(".maps");

static __always_inline void stat_add(u32 which, s64 n)
{
	s64 *v = bpf_map_lookup_elem(&stats, &which);
	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline struct proc *tracked(u32 tgid)
{
	struct proc *p = bpf_map_lookup_elem(&procs, &tgid);
	return p && p->state == TRACKED ? p : 0;
}

static __always_inline u32 abi_of(struct task_struct *task, u64 nr)
{
	if (task->thread_info.status & TS_COMPAT)
		return ABI_X86;
	return nr & X32_BIT ? ABI_X32 : ABI_X86_64;
}

static __always_inline u16 info_of(u32 abi, u64 nr)
{
	u64 slot = nr & ~(u64)X32_BIT;
	if (slot >= NR_SLOTS)
		return 0;
	u32 idx = abi * NR_SLOTS + (u32)slot;
	u16 *f = bpf_map_lookup_elem(&sysinfo, &idx);
	return f ? *f : 0;
}

static __always_inline void add(void *map, void *key, u64 n)
{
	u64 *v = bpf_map_lookup_elem(map, key);
	if (v) {
		__sync_fetch_and_add(v, n);
		return;
	}
	if (bpf_map_update_elem(map, key, &n, BPF_NOEXIST) == 0)
		return;
	v = bpf_map_lookup_elem(map, key); /* another CPU inserted it first */
	if (v)
		__sync_fetch_and_add(v, n);
	else
		stat_add(ST_DROPPED, 1);
}

static __always_inline u64 arg_of(struct pt_regs *regs, u32 abi, u32 i)
{
	if (abi == ABI_X86) {
		switch (i) {
		case 0: return (u32)regs->bx;
		case 1: return (u32)regs->cx;
		case 2: return (u32)regs->dx;
		case 3: return (u32)regs->si;
		case 4: return (u32)regs->di;
		default: return (u32)regs->bp;
		}
	}
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->r10;
	case 4: return regs->r8;
	default: return regs->r9;
	}
}

static __always_inline void count(u32 abi, u32 nr, u32 err)
{
	struct call_key ck = {.abi = abi, .nr = nr};
	add(&calls, &ck, 1);
	if (err) {
		struct err_key ek = {.abi = abi, .nr = nr, .err = err};
		add(&errors, &ek, 1);
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	/* also before the first exec: that execve's exit is counted once the process is TRACKED */
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p || (p->state != TRACKED && p->state != WAITING_EXEC))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	u32 abi = abi_of(task, id);
	u16 info = info_of(abi, id);
	if ((info & SI_EXIT) && p->state == TRACKED) {
		count(abi, id, 0); /* exit and exit_group never return */
		return 0;
	}
	if (!(info & SI_ENTRY))
		return 0;
	struct entry *e = bpf_task_storage_get(&entered, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		stat_add(ST_DROPPED, 1);
		return 0;
	}
	e->abi = abi;
	e->nr = id;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	if (!tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	u64 nr = regs->orig_ax;
	u32 abi = abi_of(task, nr);
	u16 info = nr == (u64)-1 ? SI_ENTRY : info_of(abi, nr);
	if ((info & SI_FORK) && ret == 0)
		return 0; /* the child's side of a fork */
	if (info & SI_ENTRY) {
		struct entry *e = bpf_task_storage_get(&entered, task, 0, 0);
		if (e) { /* the call as it entered, before an exec or sigreturn rewrote the registers */
			abi = e->abi;
			nr = e->nr;
			bpf_task_storage_delete(&entered, task);
			info = info_of(abi, nr);
		} else if (nr == (u64)-1) {
			return 0; /* no call entered: not a syscall's return */
		} /* else a call another filter refused before sys_enter: as the registers say */
	}
	u32 err = 0;
	/* ERESTARTSYS, -NOINTR, -NOHAND, _RESTARTBLOCK (a signal came, or the thread is being
	 * killed) are strace's `= ?`: no errno. 515 between them is ENOIOCTLCMD, an error. */
	if (ret < 0 && ret >= -4095 && !(ret <= -512 && ret >= -516 && ret != -515))
		err = -ret;
	count(abi, nr, err);
	u32 mask = info & SI_ARGS;
	if (!mask)
		return 0;
	for (u32 i = 0; i < 6; i++) {
		if (!(mask & (1 << i)))
			continue;
		struct arg_key ak = {.abi = abi, .nr = nr, .idx = i, .value = arg_of(regs, abi, i)};
		if (bpf_map_lookup_elem(&args, &ak))
			continue;
		u8 one = 1;
		long r = bpf_map_update_elem(&args, &ak, &one, BPF_NOEXIST);
		if (r != 0 && r != -17 /* EEXIST */)
			stat_add(ST_DROPPED, 1);
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct proc *p = tracked(parent->tgid);
	if (!p)
		return 0;
	stat_add(ST_TASKS, 1);
	u32 ctgid = child->tgid;
	if (ctgid == (u32)parent->tgid)
		return 0; /* a thread: in the tree by its tgid */
	struct proc *c = bpf_map_lookup_elem(&procs, &ctgid);
	if (!c) {
		stat_add(ST_DROPPED, 1);
		return 0;
	}
	c->state = TRACKED;
	stat_add(ST_LIVE, 1);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	u32 tgid = task->tgid;
	struct proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p || (p->state != TRACKED && p->state != WAITING_EXEC))
		return 0;
	if (p->state == WAITING_EXEC) {
		/* the first process becomes the program */
		p->state = TRACKED;
		stat_add(ST_TASKS, 1);
		stat_add(ST_LIVE, 1);
	}
	u32 zero = 0;
	struct path *buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	/* the whole key is compared: clear what an earlier, longer path left */
	volatile u64 *words = (volatile u64 *)buf->s; /* volatile: a loop, not a memset call */
	for (u32 i = 0; i < PATH_LEN / 8; i++)
		words[i] = 0;
	bpf_probe_read_kernel_str(buf->s, PATH_LEN, bprm->filename);
	u8 one = 1;
	long r = bpf_map_update_elem(&execs, buf, &one, BPF_NOEXIST);
	if (r != 0 && r != -17 /* EEXIST */)
		stat_add(ST_DROPPED, 1);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	struct proc *p = tracked(task->tgid);
	if (!p)
		return 0;
	/*
	 * The group is dead once every thread has passed do_exit's decrement of signal->live, which
	 * comes before this tracepoint: several dying threads may see 0 here, and only the one that
	 * moves the state on counts the process out.
	 */
	if (task->signal->live.counter == 0) {
		/* the group's status: that of exit_group or a fatal signal, when one ended it */
		p->status = task->signal->flags & SIGNAL_GROUP_EXIT ? task->signal->group_exit_code : task->exit_code;
		if (__sync_val_compare_and_swap(&p->state, TRACKED, EXITED) == TRACKED)
			stat_add(ST_LIVE, -1);
	}
	return 0;
}
