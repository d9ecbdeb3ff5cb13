// The help texts of the bound-images command: one overview and one page per command.

export const MAIN_USAGE = `usage: bound-images COMMAND [options]

Talks to bound-imaged (org.bootc.BoundImages on the system bus), which keeps
this host's logically bound images in the bootc-owned image store.

commands:
  status            the daemon's state, last result and current job
  list              every bound image and whether it is in the store
  jobs              the reconcile jobs: running, waiting and recently finished
  upgrade           reconcile now (discover, pull, garbage-collect) and follow
                    the job to its end
  cancel JOB        cancel a running or waiting job (number or object path)
  check             lint the bound images of a root offline (no daemon needed):
                    errors, what bootc would refuse or read differently, and
                    consumers that would pull their own copy

Every command takes --json (one JSON document on stdout) and --help.
--version (-V) prints the version of bound-images.

exit status: 0 success, 1 the reconcile failed or was cancelled (check: an
             error), 2 usage error, 3 daemon unreachable or access denied,
             4 check: no error, but findings
`;

export const STATUS_USAGE = `usage: bound-images status [--json]

Shows the daemon's state (idle or reconciling), the result and time of the
last reconcile, the roots, the store, the version, and the running job.

options:
  --json      print one JSON document instead of text
  -h, --help  show this help
`;

const TABLE_OPTIONS = `  --json       print one JSON document instead of a table
  --no-legend  leave out the column headings (and the line of an empty table)
  --no-pager   do not pipe the table into a pager (used on a terminal only:
               $BOUND_IMAGES_PAGER, else $PAGER, else less)
  -h, --help   show this help`;

export const LIST_USAGE = `usage: bound-images list [--json] [--no-legend] [--no-pager]

Lists every image the deployment roots bind, with its state in the store:
present (with the image id), missing, failed (with the last pull error),
invalid (the bound-images.d entry or its Quadlet file could not be used) or
unknown (the store could not be listed: Podman is down; then exit status 1).

options:
${TABLE_OPTIONS}
`;

export const JOBS_USAGE = `usage: bound-images jobs [--json] [--no-legend] [--no-pager]

Lists the reconcile jobs the daemon has, oldest first: the running one, those
waiting behind it and the last finished ones, with their state, phase, images,
start time, caller and result (or progress).

options:
${TABLE_OPTIONS}
`;

export const UPGRADE_USAGE = `usage: bound-images upgrade [--root PATH] [--pull-policy POLICY] [--dry-run]
                           [--no-gc] [--no-wait] [--json]

Starts a reconcile (discover, pull, garbage-collect) and follows it to its end:
a progress bar on a terminal, one line per event otherwise. Needs root.

options:
  --root PATH           also reconcile towards this deployment root (e.g. a
                        staged deployment); the daemon remembers it as a GC root
  --pull-policy POLICY  missing (default): pull what is absent; always: pull
                        every image again; newer: pull when the tag moved
  --dry-run             plan only: show what would be pulled and removed
  --no-gc               do not remove images no root binds any more
  --no-wait             print the job and return without following it
  --json                print one JSON document (the finished job) at the end
  -h, --help            show this help

exit status: 0 success, 1 failed or cancelled, 2 usage error,
             3 daemon unreachable, gone, or access denied
`;

export const CANCEL_USAGE = `usage: bound-images cancel JOB [--json]

Cancels a running or waiting job. JOB is the job number (as printed by
upgrade and status) or its object path, /org/bootc/BoundImages/job/N.
Needs root.

options:
  --json      print one JSON document instead of text
  -h, --help  show this help

exit status: 0 cancel requested, 1 the job had already ended or does not
             exist, 2 usage error, 3 daemon unreachable or access denied
`;

export const CHECK_USAGE = `usage: bound-images check [--root DIR]... [--json]

Checks the bound images a root declares (usr/lib/bootc/bound-images.d), offline:
no daemon, no bus, no Podman; only the root's files are read. Usable in a
Containerfile RUN step or a CI job on an unpacked image. Reports per entry:
  error    the entry cannot be bound (bound-imaged refuses it)
  bootc    bound-imaged binds it, but bootc upgrade would refuse it or bind
           something else (AuthFile=, Image=NAME.image, drop-ins, short names)
  warning  it will not work as meant (a bound .container whose Podman does
           not read /usr/lib/bootc/storage and pulls its own copy)

options:
  --root DIR  a root to check (repeatable; default /)
  --json      print one JSON document instead of text
  -h, --help  show this help

exit status: 0 nothing found, 1 at least one error, 2 usage error,
             4 no error, but bootc-incompatible entries or warnings
`;
