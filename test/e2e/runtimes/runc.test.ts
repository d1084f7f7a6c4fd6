// runc 1.1.5: a busybox bundle gets a built profile through `apply --bundle`; both
// no_new_privileges settings (runc spec's default true; Docker's and podman's false).
import {bundleRuntimeSuite} from '../../helpers/runtime-suite.js'

bundleRuntimeSuite('runc', [true, false], {true: false, false: false})
