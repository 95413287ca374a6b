package workerproc

// EnvTestPanic is envTestPanic for the tests.
const EnvTestPanic = envTestPanic

// ChildReplayWindow is childReplayWindow for the tests.
const ChildReplayWindow = childReplayWindow
