/**
 * @ksim/kthread: kernel/kthread.c of Linux 2.6.34 (kthreadd, kthread_create,
 * kthread_bind, kthread_stop, kthread_should_stop) with the parking API of
 * 3.x, and the task refcounting it relies on.
 */
export { Kthreads, to_kthread, type Kthread } from "./kthread.js";
export { format_comm, TASK_COMM_LEN } from "./namefmt.js";
// The task refcount helpers live in core (task_struct is core's); re-exported
// here because kthread users (kthread_stop, migration_call) need them.
export { get_task_struct, put_task_struct } from "@ksim/core";

export { kthread_subsystem } from "./subsystem.js";
