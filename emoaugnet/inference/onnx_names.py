"""Deterministic names in an exported ONNX graph, so the same weights export to the same bytes.

The converters (tf2onnx under TensorFlow, jax2onnx under JAX) name nodes and intermediate values from a
process-wide counter (``conv1_1/convolution__87`` in one export, ``__352`` in the next) and list the
initializers in an order that follows those names, so two exports of one bundle differed in bytes
although they compute the same thing. :func:`canonicalise` renames, by position in the graph (whose node
order the converter does keep): node ``i`` becomes ``<OpType>_<i>``, its outputs ``<OpType>_<i>:<k>``,
and an initializer ``init_<i>_<k>`` after the first node input that reads it; initializers are then
sorted by name. Symbolic dimensions (``unk__266``) become ``dim_<n>`` in order of appearance, and the
graph's doc string (the converter's function name, ``__inference___call___940``) is dropped. The
graph's input and output names (what callers feed and read) are kept. A graph whose nodes hold
subgraphs (jax2onnx writes the JAX LSTM as a ``Loop``) is left as the converter wrote it: its bodies may
read outer names, and renaming them is not done here, so byte-reproducibility is tested for the
TensorFlow export (tf2onnx writes ``LSTM`` nodes, no subgraphs) only.
"""

from __future__ import annotations

import onnx


def canonicalise(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rename ``model``'s nodes, intermediate values and initializers in place as described above."""
    g = model.graph
    keep = {v.name for v in (*g.input, *g.output)}
    initializers = {t.name for t in g.initializer}
    rename: dict[str, str] = {}
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in g.node for a in n.attribute):
        return model        # a Loop body may read outer names: left as the converter wrote it (see above)
    for i, node in enumerate(g.node):
        for k, name in enumerate(node.input):
            if name in initializers and name not in rename and name not in keep:
                rename[name] = f"init_{i}_{k}"
        for k, name in enumerate(node.output):
            if name and name not in keep:
                rename[name] = f"{node.op_type}_{i}:{k}"
        node.name = f"{node.op_type}_{i}"
    for node in g.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    for info in g.value_info:
        info.name = rename.get(info.name, info.name)
    tensors = []
    for t in sorted(g.initializer, key=lambda t: rename.get(t.name, t.name)):
        copy = onnx.TensorProto()
        copy.CopyFrom(t)
        copy.name = rename.get(t.name, t.name)
        tensors.append(copy)
    del g.initializer[:]
    g.initializer.extend(tensors)
    symbols: dict[str, str] = {}
    for info in (*g.input, *g.output, *g.value_info):
        for dim in info.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_param = symbols.setdefault(dim.dim_param, f"dim_{len(symbols)}")
    g.doc_string = ""
    return model


def canonicalise_file(path) -> None:
    """:func:`canonicalise` the ONNX model file at ``path``, rewriting it there."""
    model = onnx.load(str(path))
    onnx.save(canonicalise(model), str(path))
