// The exit statuses of was-train and the bench, in one place: the commands return them, the
// extension reads them (a usage error means bad training options, not a failed run).

export const EXIT = {
  /** Completed, stopped at a request, or nothing to do (a completed run has nothing to resume). */
  ok: 0,
  /** The run failed, or a run, checkpoint or dataset cannot be used. */
  failed: 1,
  /** Bad flags or config (the message names the option). */
  usage: 2,
  /** A second Ctrl-C or SIGTERM: exited without finishing the run (128 + SIGINT). */
  interrupted: 130,
} as const;
