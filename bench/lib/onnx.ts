/**
 * Builds small ONNX graphs in memory (protobufjs over a proto2 subset of onnx.proto, field
 * numbers as in the ONNX spec), for onnxruntime-node peers and ceilings in the benchmarks.
 */
import { cpus } from 'node:os';

import ort from 'onnxruntime-node';
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto2";
package onnx;
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message TensorShapeProto { message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; } repeated Dimension dim = 1; }
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } optional Tensor tensor_type = 1; }
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message TensorProto { repeated int64 dims = 1; optional int32 data_type = 2; repeated float float_data = 4 [packed = true]; repeated int64 int64_data = 7 [packed = true]; optional string name = 8; optional bytes raw_data = 9; }
message AttributeProto { optional string name = 1; optional float f = 2; optional int64 i = 3; optional bytes s = 4; repeated int64 ints = 8; optional int32 type = 20; }
message NodeProto { repeated string input = 1; repeated string output = 2; optional string name = 3; optional string op_type = 4; repeated AttributeProto attribute = 5; optional string domain = 7; }
message GraphProto { repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message ModelProto { optional int64 ir_version = 1; optional string producer_name = 2; optional GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
`;

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const Model = protobuf.parse(SCHEMA).root.lookupType('onnx.ModelProto');

type Dim = number | string;
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number>;
}
export interface GraphSpec {
  inputs: Array<{ name: string; shape: Dim[]; type?: 'float' | 'int64' }>;
  outputs: Array<{ name: string; shape: Dim[]; type?: 'float' | 'int64' }>;
  nodes: NodeSpec[];
  int64Constants?: Record<string, number[]>;
  floatConstants?: Record<string, { dims: number[]; data: Float32Array }>;
}

function valueInfo(v: { name: string; shape: Dim[]; type?: 'float' | 'int64' }) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.type === 'int64' ? INT64 : FLOAT,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialises a graph as an ONNX model (opset 17). */
export function buildModel(spec: GraphSpec): Uint8Array {
  const model = Model.fromObject({
    irVersion: 8,
    producerName: 'arbiter-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: [
        ...Object.entries(spec.int64Constants ?? {}).map(([name, vals]) => ({
          name,
          dims: [vals.length],
          dataType: INT64,
          int64Data: vals,
        })),
        ...Object.entries(spec.floatConstants ?? {}).map(([name, c]) => ({
          name,
          dims: c.dims,
          dataType: FLOAT,
          rawData: new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength), // little-endian, as ONNX requires
        })),
      ],
      node: spec.nodes.map((n, i) => ({
        name: `n${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.ints ?? {}).map(([name, i]) => ({ name, i, type: ATTR_INT })),
      })),
    },
  });
  return Model.encode(model).finish();
}

/**
 * An onnxruntime CPU session with one intra-op thread per core and spin-waiting off: spinning
 * threads would keep burning cycles after each run and slow whichever contender runs next in the
 * same process, which makes interleaved timing unfair to everyone else.
 */
export async function cpuSession(spec: GraphSpec): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(buildModel(spec), {
    intraOpNumThreads: cpus().length,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}
