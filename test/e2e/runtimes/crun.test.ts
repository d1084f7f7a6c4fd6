// crun 1.8.1 (hybrid cgroups here: run in a private mount namespace without the cgroup2 mount,
// see scripts/runtime-harness.js), both no_new_privileges settings.
import {bundleRuntimeSuite} from '../../helpers/runtime-suite.js'

bundleRuntimeSuite('crun', [true, false], {true: true, false: false})
