/// A key press, decoded by the presenter from the terminal's key codes.
public enum Key: Hashable, Sendable {
    /// A printable character (letters, digits, punctuation, space).
    case char(Unicode.Scalar)
    case left, right, up, down
    case home, end, pageUp, pageDown
    case enter, tab, backTab, backspace, escape
    /// Ctrl-C delivered as a key (raw mode) rather than as SIGINT.
    case interrupt
    /// Function key F1…F12 (F1 help and F10 quit, as in htop and mc).
    case function(Int)
}

/// Everything that can change the view state: input from the terminal, and results the
/// session reports back (forward passes, background evaluation progress).
public enum Event: Sendable, Equatable {
    /// A key press.
    case key(Key)
    /// A mouse click (button 1) at a cell.
    case click(x: Int, y: Int)
    /// The terminal changed size.
    case resize(width: Int, height: Int)
    /// The forward pass of the current image finished.
    case forwardCompleted(ForwardResult)
    /// A forward pass or a model load failed (message for the status line).
    case failed(String)
    /// Dataset evaluation progress (a batch finished, or the whole run).
    case evaluationProgress(EvaluationProgress)
    /// τ sweep progress.
    case sweepProgress(SweepProgress)
    /// π of a batch of dataset images for the simplex cloud (one slice per layer per image).
    case cloudPoints(CloudBatch)
    /// The search for a misclassified image finished: the index found, or nil after
    /// `searched` images without one.
    case searchFinished(found: Int?, searched: Int)
    /// A message for the status line.
    case message(String)
}

/// π of several images under one configuration, for the simplex cloud.
public struct CloudBatch: Sendable, Equatable {
    public var key: ConfigKey
    /// Image indices.
    public var indices: [Int]
    /// Per layer, `indices.count * K` attention values.
    public var layers: [[Float]]
    /// K per layer.
    public var kernels: [Int]

    public init(key: ConfigKey, indices: [Int], layers: [[Float]], kernels: [Int]) {
        self.key = key; self.indices = indices; self.layers = layers; self.kernels = kernels
    }
}

/// Work the session must do after an update: the pure core asks, the session performs.
public enum Effect: Hashable, Sendable {
    /// Run the forward pass of the current image with the current configuration.
    case forward
    /// Make sure the dataset evaluation (and τ sweep) of the current configuration is done
    /// or running in the background.
    case evaluate
    /// Stop background evaluation (the dataset view was closed).
    case cancelEvaluation
    /// Look for the next misclassified image, starting at this index (wrapping around).
    case findMisclassified(from: Int)
    /// Leave the program.
    case quit
}
