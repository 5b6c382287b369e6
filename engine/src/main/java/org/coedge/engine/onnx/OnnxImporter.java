package org.coedge.engine.onnx;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Reads an ONNX file into a {@link Graph} as the file states it: nodes in file order (with {@code Constant} nodes
 * turned into constants), initializers and constants decoded, declared dims of inputs, outputs and value_info with
 * {@code -1} for dynamic dims. Unnamed nodes are named {@code <OpType>_<index>} so that every later error can name
 * its node. Nothing is inferred or rewritten here; {@link ShapeInference#fold} does that.
 * <p>
 * Called once per model load, on the caller's thread; stateless.
 */
public final class OnnxImporter
{
    /**
     * Lowest and highest default-domain opset accepted; the engine is tested on 9..17 and on ONNX's node tests of
     * opsets 1..17 (older attribute forms are normalized by {@link OperatorNormalizer}).
     */
    public static final int MIN_OPSET = 1;
    public static final int MAX_OPSET = 21;

    private static final String CONSTANT = "Constant";

    private OnnxImporter()
    {
    }

    /**
     * @return the graph of the model in {@code file}; throws {@link ModelException} naming the file on any fault.
     * The file is mapped, not read onto the heap, and the parser's byte fields alias the mapping: the heap holds
     * only the decoded tensors. Read into a {@code byte[]} and parsed from it, VGG-16 (553 MB) peaked at 1.6 GB of
     * heap (the file, the parser's copy of every raw_data field and the floats), and a 0.225-core device paused
     * 1.4 s in one young collection copying them.
     */
    public static Graph load(final Path file)
    {
        final OnnxMl.ModelProto model;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = channel.size();
            if (size == 0)
            {
                throw invalid(file.toString(), "empty file");
            }
            if (size > Integer.MAX_VALUE)
            {
                throw new ModelException(file + ": " + size + " bytes, over the 2 GiB an ONNX file without " +
                    "external data can hold");
            }
            final CodedInputStream in = CodedInputStream.newInstance(
                channel.map(FileChannel.MapMode.READ_ONLY, 0, size));
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            model = OnnxMl.ModelProto.parseFrom(in);
        }
        catch (final NoSuchFileException ex)
        {
            throw new ModelException(file + ": no such file");
        }
        catch (final InvalidProtocolBufferException ex)
        {
            throw new ModelException(file + ": not a valid ONNX model (" + ex.getMessage() + ")", ex);
        }
        catch (final IOException ex)
        {
            throw new ModelException(file + ": cannot read (" + ex + ")", ex);
        }
        return read(model, file.toString());
    }

    /** @param sourceName where the bytes came from, used in error messages. */
    public static Graph load(final byte[] bytes, final String sourceName)
    {
        if (bytes.length == 0)
        {
            throw invalid(sourceName, "empty file");
        }
        final OnnxMl.ModelProto model;
        try
        {
            model = OnnxMl.ModelProto.parseFrom(bytes);
        }
        catch (final InvalidProtocolBufferException ex)
        {
            throw new ModelException(sourceName + ": not a valid ONNX model (" + ex.getMessage() + ")", ex);
        }
        return read(model, sourceName);
    }

    private static Graph read(final OnnxMl.ModelProto model, final String sourceName)
    {
        if (!model.hasGraph())
        {
            throw invalid(sourceName, "no graph");
        }
        final int opset = defaultOpset(model, sourceName);
        return new Reader(model.getGraph(), sourceName, opset).read();
    }

    private static ModelException invalid(final String sourceName, final String why)
    {
        return new ModelException(sourceName + ": not a valid ONNX model (" + why + ")");
    }

    private static int defaultOpset(final OnnxMl.ModelProto model, final String sourceName)
    {
        long opset = -1;
        for (final OnnxMl.OperatorSetIdProto id : model.getOpsetImportList())
        {
            if (id.getDomain().isEmpty() || "ai.onnx".equals(id.getDomain()))
            {
                opset = id.getVersion();
            }
        }
        if (opset < 0)
        {
            throw invalid(sourceName, "no opset import for the default domain");
        }
        if (opset < MIN_OPSET || opset > MAX_OPSET)
        {
            throw new ModelException(sourceName + ": opset " + opset + " is not supported (the engine reads opsets " +
                MIN_OPSET + ".." + MAX_OPSET + ")");
        }
        return (int)opset;
    }

    /** One graph being read; holds the name bookkeeping of a single load. */
    private static final class Reader
    {
        private final OnnxMl.GraphProto proto;
        private final String source;
        private final int opset;
        private final Set<String> referenced = new HashSet<>();

        Reader(final OnnxMl.GraphProto proto, final String source, final int opset)
        {
            this.proto = proto;
            this.source = source;
            this.opset = opset;
        }

        Graph read()
        {
            if (proto.getNodeCount() == 0)
            {
                throw new ModelException(source + ": the graph has no nodes");
            }
            for (final OnnxMl.NodeProto n : proto.getNodeList())
            {
                referenced.addAll(n.getInputList());
            }
            referenced.addAll(valueNames(proto.getOutputList()));

            final Map<String, ConstTensor> constants = new LinkedHashMap<>();
            final Set<String> initializers = new HashSet<>();
            for (final OnnxMl.TensorProto t : proto.getInitializerList())
            {
                initializers.add(t.getName());
                if (referenced.contains(t.getName()))
                {
                    constants.put(t.getName(), OnnxTensors.decode(t, source, "initializer '" + t.getName() + "'"));
                }
            }
            for (final OnnxMl.SparseTensorProto t : proto.getSparseInitializerList())
            {
                if (referenced.contains(t.getValues().getName()))
                {
                    throw new ModelException(source + ": sparse initializer '" + t.getValues().getName() +
                        "' is not supported");
                }
            }

            final List<Node> nodes = readNodes(constants);

            final Map<String, long[]> shapes = new LinkedHashMap<>();
            final List<String> inputs = new ArrayList<>();
            final Set<String> integerInputs = new HashSet<>();
            for (final OnnxMl.ValueInfoProto v : proto.getInputList())
            {
                if (initializers.contains(v.getName()))
                {
                    continue;
                }
                if (checkRuntimeInput(v))
                {
                    integerInputs.add(v.getName());
                }
                inputs.add(v.getName());
                putShape(shapes, v);
            }
            for (final OnnxMl.ValueInfoProto v : proto.getValueInfoList())
            {
                putShape(shapes, v);
            }
            for (final OnnxMl.ValueInfoProto v : proto.getOutputList())
            {
                putShape(shapes, v);
            }
            final List<String> outputs = valueNames(proto.getOutputList());
            IntegerInputs.check(source, nodes, constants, integerInputs, outputs);
            return new Graph(proto.getName(), opset, inputs, outputs, nodes, constants, shapes, integerInputs);
        }

        private List<Node> readNodes(final Map<String, ConstTensor> constants)
        {
            final Set<String> names = new HashSet<>();
            for (final OnnxMl.NodeProto n : proto.getNodeList())
            {
                if (!n.getName().isEmpty())
                {
                    names.add(n.getName());
                }
            }
            final Set<String> given = new HashSet<>();
            final List<Node> nodes = new ArrayList<>();
            for (int index = 0; index < proto.getNodeCount(); index++)
            {
                final OnnxMl.NodeProto n = proto.getNode(index);
                final String name = uniqueName(n, index, names, given);
                final String domain = n.getDomain();
                if (!domain.isEmpty() && !"ai.onnx".equals(domain))
                {
                    throw new ModelException(source + ": node " + n.getOpType() + " '" + name + "' is in domain '" +
                        domain + "'; only the default ONNX domain is supported");
                }
                final Map<String, Attribute> attributes = attributes(n, name);
                if (CONSTANT.equals(n.getOpType()))
                {
                    if (n.getOutputCount() == 1 && referenced.contains(n.getOutput(0)))
                    {
                        constants.put(n.getOutput(0), constantValue(n, name, attributes));
                    }
                    continue;
                }
                nodes.add(new Node(n.getOpType(), name, n.getInputList(), n.getOutputList(), attributes));
            }
            return nodes;
        }

        private String uniqueName(
            final OnnxMl.NodeProto n, final int index, final Set<String> names, final Set<String> given)
        {
            String name = n.getName();
            if (name.isEmpty() || given.contains(name))
            {
                final String base = name.isEmpty() ? n.getOpType() + "_" + index : name;
                name = base;
                for (int k = 1; names.contains(name) || given.contains(name); k++)
                {
                    name = base + "_" + k;
                }
            }
            given.add(name);
            names.add(name);
            return name;
        }

        private Map<String, Attribute> attributes(final OnnxMl.NodeProto n, final String nodeName)
        {
            final Map<String, Attribute> out = new LinkedHashMap<>();
            for (final OnnxMl.AttributeProto a : n.getAttributeList())
            {
                final Attribute converted = attribute(a, n.getOpType(), nodeName);
                if (converted != null)
                {
                    out.put(a.getName(), converted);
                }
            }
            return out;
        }

        /** @return the attribute, or null for kinds no supported operator reads (graphs, type protos). */
        private Attribute attribute(final OnnxMl.AttributeProto a, final String opType, final String nodeName)
        {
            final String name = a.getName();
            switch (attributeType(a))
            {
                case INT:
                    return Attribute.ofInt(name, a.getI());
                case FLOAT:
                    return Attribute.ofFloat(name, a.getF());
                case STRING:
                    return Attribute.ofString(name, a.getS().toString(StandardCharsets.UTF_8));
                case INTS:
                    return Attribute.ofInts(name, a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                case FLOATS:
                    final float[] floats = new float[a.getFloatsCount()];
                    for (int i = 0; i < floats.length; i++)
                    {
                        floats[i] = a.getFloats(i);
                    }
                    return Attribute.ofFloats(name, floats);
                case TENSOR:
                    return Attribute.ofTensor(name,
                        OnnxTensors.decode(a.getT(), source, "attribute '" + name + "' of " + opType + " '" + nodeName + "'"));
                default:
                    return null;
            }
        }

        private ConstTensor constantValue(
            final OnnxMl.NodeProto n, final String name, final Map<String, Attribute> attributes)
        {
            final String where = "Constant '" + name + "'";
            if (attributes.size() != 1)
            {
                throw new ModelException(source + ": " + where + " must have exactly one value attribute, has " +
                    n.getAttributeCount());
            }
            final Attribute a = attributes.values().iterator().next();
            switch (a.name())
            {
                case "value":
                    return a.asTensor();
                case "value_float":
                    return ConstTensor.ofFloats(new long[0], new float[]{a.asFloat()});
                case "value_floats":
                    final float[] fs = a.asFloats();
                    return ConstTensor.ofFloats(new long[]{fs.length}, fs);
                case "value_int":
                    return ConstTensor.ofLongs(new long[0], new long[]{a.asInt()});
                case "value_ints":
                    final long[] is = a.asInts();
                    return ConstTensor.ofLongs(new long[]{is.length}, is);
                default:
                    throw new ModelException(source + ": " + where + " has value kind '" + a.name() +
                        "', which is not supported");
            }
        }

        private OnnxMl.AttributeProto.AttributeType attributeType(final OnnxMl.AttributeProto a)
        {
            if (a.hasType() && a.getType() != OnnxMl.AttributeProto.AttributeType.UNDEFINED)
            {
                return a.getType();
            }
            // Files from before IR version 2 leave the type unset; the filled field says it.
            if (a.hasF())
            {
                return OnnxMl.AttributeProto.AttributeType.FLOAT;
            }
            if (a.hasI())
            {
                return OnnxMl.AttributeProto.AttributeType.INT;
            }
            if (a.hasS())
            {
                return OnnxMl.AttributeProto.AttributeType.STRING;
            }
            if (a.hasT())
            {
                return OnnxMl.AttributeProto.AttributeType.TENSOR;
            }
            if (a.getIntsCount() > 0)
            {
                return OnnxMl.AttributeProto.AttributeType.INTS;
            }
            if (a.getFloatsCount() > 0)
            {
                return OnnxMl.AttributeProto.AttributeType.FLOATS;
            }
            return OnnxMl.AttributeProto.AttributeType.UNDEFINED;
        }

        /** @return whether the input is of an integer type (it may then only set shapes, see IntegerInputs). */
        private boolean checkRuntimeInput(final OnnxMl.ValueInfoProto v)
        {
            if (!v.hasType() || !v.getType().hasTensorType())
            {
                throw new ModelException(source + ": input '" + v.getName() + "' is not a tensor");
            }
            final int elemType = v.getType().getTensorType().getElemType();
            if (elemType == OnnxMl.TensorProto.DataType.INT64_VALUE ||
                elemType == OnnxMl.TensorProto.DataType.INT32_VALUE)
            {
                return true;
            }
            if (elemType != OnnxMl.TensorProto.DataType.FLOAT_VALUE)
            {
                throw new ModelException(source + ": input '" + v.getName() + "' has element type " +
                    typeName(elemType) + "; the engine computes in float32 only");
            }
            return false;
        }

        private void putShape(final Map<String, long[]> shapes, final OnnxMl.ValueInfoProto v)
        {
            if (!v.hasType() || !v.getType().hasTensorType() || !v.getType().getTensorType().hasShape())
            {
                return;
            }
            final OnnxMl.TensorShapeProto shape = v.getType().getTensorType().getShape();
            final long[] dims = new long[shape.getDimCount()];
            for (int i = 0; i < dims.length; i++)
            {
                final OnnxMl.TensorShapeProto.Dimension d = shape.getDim(i);
                // A symbolic dim, an unset one and 0 (which some exporters write for "unknown") are all dynamic.
                dims[i] = d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : -1;
            }
            shapes.put(v.getName(), dims);
        }

    }

    static String typeName(final int dataType)
    {
        final OnnxMl.TensorProto.DataType t = OnnxMl.TensorProto.DataType.forNumber(dataType);
        return t != null ? t.name() : "#" + dataType;
    }

    private static List<String> valueNames(final List<OnnxMl.ValueInfoProto> values)
    {
        final List<String> names = new ArrayList<>(values.size());
        for (final OnnxMl.ValueInfoProto v : values)
        {
            names.add(v.getName());
        }
        return names;
    }
}
