//! The TensorBoard protobuf messages gpu-mlp writes, declared by hand for prost from
//! tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto (field numbers
//! as there; each `oneof` member gpu-mlp uses is written as the optional field it is on the
//! wire). Readers skip the fields not declared here.

/// `tensorflow.Event`: a time stamp, a step, and either the file's version or a summary.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// `oneof what`: the first event of a file names the format, "brain.Event:2".
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// `oneof what`: the values of this step.
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`: one named scalar.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    #[prost(string, tag = "1")]
    pub tag: String,
    /// `oneof value`: a scalar (what TensorBoard's scalar dashboard plots).
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
}

/// The version string of the event format TensorBoard reads.
pub const FILE_VERSION: &str = "brain.Event:2";
