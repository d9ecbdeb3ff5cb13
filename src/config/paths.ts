// Where the configuration is read from, as systemd daemons lay it out: the vendor defaults under
// /usr/lib, the administrator's file under /etc, and drop-ins beside it. scripts/install.sh rewrites
// these paths in the installed copy of this module when PKGLIBDIR or SYSCONFDIR differ from the
// defaults (what a build-time configure step does for a C daemon), so keep each one a plain literal.

export interface ConfigPaths {
  /** Vendor defaults (optional), shipped in the read-only OS image. */
  readonly vendor: string;
  /** The administrator's file (optional). */
  readonly main: string;
  /** Drop-ins: every `*.ini` here, in byte order of the names, after the two files above (optional). */
  readonly dropInDir: string;
}

export const CONFIG_PATHS: ConfigPaths = {
  vendor: '/usr/lib/bound-imaged/config.ini',
  main: '/etc/bound-imaged/config.ini',
  dropInDir: '/etc/bound-imaged/config.d',
};
