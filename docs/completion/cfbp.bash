# bash completion for cfbp and for buildpack-packager (cfbp installed under the
# Go packager's name). Installed as share/bash-completion/completions/cfbp and
# .../buildpack-packager; or load it yourself: source docs/completion/cfbp.bash
#
# Every command and long option of cfbp is listed here; the test
# test/integration/test_cfbp_cli.c checks that against the program's help.

_cfbp_commands="package summary stage run create-buildpack buildpacks delete-buildpack tarball help version"

# The options of a cfbp command.
_cfbp_command_options() {
    case $1 in
    package) echo "--stack --any-stack --cached --version --cachedir --profile --exclude --include --output --mirror --quiet --help" ;;
    summary) echo "--help" ;;
    stage) echo "-b --buildpack --stack --droplet --result --cache --env --help" ;;
    run) echo "--port --env --help" ;;
    create-buildpack) echo "--help" ;;
    buildpacks) echo "--help" ;;
    delete-buildpack) echo "-f --force --help" ;;
    tarball) echo "--mtime --prefix --help" ;;
    help | version) echo "--help" ;;
    esac
}

# The names of the registered buildpacks (the second column of `cfbp buildpacks`).
_cfbp_registered() {
    "${1:-cfbp}" buildpacks 2>/dev/null | awk 'NR > 1 { print $2 }'
}

# The packaging profiles of ./manifest.yml (the keys under packaging_profiles:).
_cfbp_profiles() {
    [ -r manifest.yml ] || return 0
    awk '/^packaging_profiles:/ { inside = 1; next }
         inside && /^[^ #]/ { inside = 0 }
         inside && /^  [A-Za-z0-9_.-]+:/ { sub(/^  /, ""); sub(/:.*/, ""); print }' manifest.yml
}

_cfbp_stacks="cflinuxfs4 cflinuxfs5"

_cfbp() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local program=${COMP_WORDS[0]}
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$_cfbp_commands" -- "$cur")
        fi
        return 0
    fi
    local command=${COMP_WORDS[1]}
    case $prev in
    --stack | -stack)
        mapfile -t COMPREPLY < <(compgen -W "$_cfbp_stacks" -- "$cur")
        return 0
        ;;
    --cachedir | --output | --cache)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
        ;;
    --droplet | --result | --mirror)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
        ;;
    -b | --buildpack)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -W "$(_cfbp_registered "$program")" -f -- "$cur")
        return 0
        ;;
    --profile)
        mapfile -t COMPREPLY < <(compgen -W "$(_cfbp_profiles)" -- "$cur")
        return 0
        ;;
    --version | --port | --env | --mtime | --prefix | --exclude | --include)
        return 0 # a value of the user's own
        ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_cfbp_command_options "$command")" -- "$cur")
        return 0
    fi
    case $command in
    help)
        ((COMP_CWORD == 2)) && mapfile -t COMPREPLY < <(compgen -W "$_cfbp_commands" -- "$cur")
        ;;
    delete-buildpack)
        mapfile -t COMPREPLY < <(compgen -W "$(_cfbp_registered "$program")" -- "$cur")
        ;;
    buildpacks | version) ;;
    package)
        if ((COMP_CWORD == 2)); then
            # The Go packager's words, which cfbp package also takes.
            mapfile -t COMPREPLY < <(compgen -W "build summary" -- "$cur")
        fi
        compopt -o filenames 2>/dev/null
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur")
        ;;
    *)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    esac
    return 0
}

# buildpack-packager build|summary|help, with the Go packager's one-dash flags.
_cfbp_buildpack_packager() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W "build summary help" -- "$cur")
        return 0
    fi
    case $prev in
    -stack | --stack)
        mapfile -t COMPREPLY < <(compgen -W "$_cfbp_stacks" -- "$cur")
        return 0
        ;;
    -cachedir | --cachedir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
        ;;
    -profile | --profile)
        mapfile -t COMPREPLY < <(compgen -W "$(_cfbp_profiles)" -- "$cur")
        return 0
        ;;
    -version | --version | -exclude | --exclude | -include | --include)
        return 0
        ;;
    esac
    if [[ ${COMP_WORDS[1]} == build && $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "-stack -any-stack -cached -cached=true -cached=false
            -version -cachedir -profile -exclude -include" -- "$cur")
    fi
    return 0
}

complete -F _cfbp cfbp
complete -F _cfbp_buildpack_packager buildpack-packager
