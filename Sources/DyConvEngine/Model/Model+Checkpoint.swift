/// Building a model from a checkpoint and saving one back.
extension Checkpoint {
    /// The model this checkpoint describes, ready for inference.
    public func makeModel() throws -> Model {
        try Model(description: description, parameters: tensors)
    }
}

extension Model {
    /// A checkpoint holding this model's description and parameters.
    public func checkpoint(metadata: [String: String] = [:], training: TrainingRecord? = nil) -> Checkpoint {
        Checkpoint(description: description, tensors: parameters, metadata: metadata, training: training)
    }
}
