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
    /// A mouse button press or wheel step at a cell (SGR mouse reporting).
    case mouse(MouseEvent)
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
    /// π and H/lnK of a batch of profiled images (the background pass over the first
    /// `DatasetSummary.profileLimit` images): the depth profile, clouds and heat rows.
    case cloudPoints(CloudBatch)
    /// The search for a misclassified image finished: the index found, or nil after
    /// `searched` images without one.
    case searchFinished(found: Int?, searched: Int)
    /// A message for the status line.
    case message(String)
}

/// A mouse event at a cell: a button press or a wheel step.
public struct MouseEvent: Sendable, Equatable {
    public enum Button: Sendable, Equatable { case left, middle, right, wheelUp, wheelDown }
    public var x: Int
    public var y: Int
    public var button: Button
    public init(x: Int, y: Int, button: Button = .left) { self.x = x; self.y = y; self.button = button }
}

/// π and H/lnK of several images under one configuration, for the cloud.
public struct CloudBatch: Sendable, Equatable {
    public var key: ConfigKey
    /// Image indices.
    public var indices: [Int]
    /// Per layer, `indices.count * K` attention values.
    public var layers: [[Float]]
    /// Per layer, `indices.count` normalized entropies (`LayerTrace.entropy`).
    public var entropies: [[Float]]
    /// K per layer.
    public var kernels: [Int]
    /// Images of the profile pass done so far (this batch included) and in all, for the
    /// "recomputing a of b" note.
    public var done: Int
    public var total: Int

    public init(key: ConfigKey, indices: [Int], layers: [[Float]], entropies: [[Float]], kernels: [Int],
                done: Int = 0, total: Int = 0) {
        self.key = key; self.indices = indices; self.layers = layers; self.entropies = entropies; self.kernels = kernels
        self.done = done; self.total = total
    }
}

/// Work the session must do after an update: the pure core asks, the session performs.
public enum Effect: Hashable, Sendable {
    /// Run the forward pass of the current image with the current configuration.
    case forward
    /// Make sure the profile pass (π of the first `DatasetSummary.profileLimit` images under
    /// the current configuration, reported as `cloudPoints`) is done or running in the
    /// background; a pass for another configuration is cancelled.
    case prefill
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
