# bash completion of bound-images(1): commands, their options, the values of --pull-policy,
# directories for --root (upgrade, check), and for `cancel` the numbers of the running jobs (asked
# from the daemon with `bound-images jobs`, which every user may run). Self-contained: needs no
# bash-completion helpers.
# Installed as /usr/share/bash-completion/completions/bound-images (loaded on first use).

_bound_images() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]:-}
  local commands='status list jobs upgrade cancel check help'
  local cmd='' i opts
  # `--root=PATH` reaches us as `--root`, `=`, `PATH`.
  if [[ $cur == '=' ]]; then
    prev=${COMP_WORDS[COMP_CWORD - 1]} cur=''
  elif [[ $prev == '=' ]]; then
    prev=${COMP_WORDS[COMP_CWORD - 2]:-}
  fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]} != -* ]]; then
      cmd=${COMP_WORDS[i]}
      break
    fi
  done

  COMPREPLY=()
  case $cmd in
    '')
      mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
      return
      ;;
    help)
      ((COMP_CWORD == i + 1)) && mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
      return
      ;;
    status) opts='--json --help' ;;
    list | jobs) opts='--json --no-legend --no-pager --help' ;;
    upgrade)
      case $prev in
        --root)
          compopt -o filenames 2>/dev/null
          mapfile -t COMPREPLY < <(compgen -d -- "$cur")
          return
          ;;
        --pull-policy)
          mapfile -t COMPREPLY < <(compgen -W 'missing always newer' -- "$cur")
          return
          ;;
      esac
      opts='--root --pull-policy --dry-run --no-gc --no-wait --json --help'
      ;;
    check)
      if [[ $prev == --root ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return
      fi
      opts='--root --json --help'
      ;;
    cancel)
      opts='--json --help'
      if [[ $cur != -* ]]; then
        local jobs
        jobs=$("${COMP_WORDS[0]}" jobs --no-legend --no-pager 2>/dev/null |
          while read -r id state _; do [[ $state == running ]] && echo "$id"; done)
        mapfile -t COMPREPLY < <(compgen -W "$jobs" -- "$cur")
        return
      fi
      ;;
    *) return ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
}

complete -F _bound_images bound-images
