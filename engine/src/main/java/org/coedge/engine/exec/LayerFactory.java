package org.coedge.engine.exec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Node;
import org.coedge.kernels.Activation;
import org.coedge.kernels.Concat;
import org.coedge.kernels.ConvKernel;
import org.coedge.kernels.ConvParams;
import org.coedge.kernels.WinogradConv2d;
import org.coedge.kernels.Elementwise;
import org.coedge.kernels.FullyConnected;
import org.coedge.kernels.GlobalPooling;
import org.coedge.kernels.Lrn;
import org.coedge.kernels.MapView;
import org.coedge.kernels.Pad;
import org.coedge.kernels.Pointwise;
import org.coedge.kernels.PoolParams;
import org.coedge.kernels.Pooling;
import org.coedge.kernels.Resize;
import org.coedge.kernels.Softmax;
import org.coedge.kernels.TensorOps;
import org.coedge.planner.LayerKind;
import org.coedge.planner.RowRange;

/**
 * Maps one normalized node of a folded graph onto a kernel and adds the layer to the lowering. The node forms it
 * reads (explicit pads, Clip min/max attributes, resolved Reshape shapes, Resize scales and sizes) are those the
 * shape inference produces. Cold path.
 */
final class LayerFactory
{
    private LayerFactory()
    {
    }

    static void lower(final Lowering l, final Node n)
    {
        if (!PathChoice.fastPath(l, n))
        {
            PathChoice.generic(l, n);
            return;
        }
        switch (n.opType())
        {
            case "Conv":
            case "ConvTranspose":
                conv(l, n);
                break;
            case "MaxPool":
            case "AveragePool":
                pool(l, n);
                break;
            case "GlobalAveragePool":
            case "GlobalMaxPool":
                globalPool(l, n);
                break;
            case "LRN":
                rowOp(l, n, n.opType(), new Lrn((int)n.attrInt("size", 0), n.attrFloat("alpha", 1e-4f),
                    n.attrFloat("beta", 0.75f), n.attrFloat("bias", 1f))::forward, 0);
                break;
            case "Unary":
            {
                final TensorOps.Unary op = TensorOps.Unary.valueOf(n.attrString("fn", ""));
                final float p = n.attrFloat("p", 0f);
                final float q = n.attrFloat("q", 0f);
                rowOp(l, n, n.attrString("onnx", "Unary"), (in, out, h0, h1) -> TensorOps.unaryRows(op, p, q, in,
                    out, h0, h1), 1);
                break;
            }
            case "Relu":
            case "LeakyRelu":
            case "Clip":
            case "Sigmoid":
            case "HardSigmoid":
            case "HardSwish":
            case "Tanh":
                rowOp(l, n, n.opType(), Pointwise.of(Fusion.of(n))::forward, 0);
                break;
            case "PRelu":
                rowOp(l, n, "PRelu", Pointwise.prelu(preluSlope(l, n))::forward, 0);
                break;
            case "Add":
            case "Sub":
            case "Mul":
            case "Div":
                elementwise(l, n);
                break;
            case "Concat":
                concat(l, n);
                break;
            case "Gemm":
            case "MatMul":
                fullyConnected(l, n);
                break;
            case "Softmax":
                softmax(l, n);
                break;
            case "Resize":
                resize(l, n);
                break;
            case "Pad":
                pad(l, n);
                break;
            case "Reshape":
                reshape(l, n);
                break;
            default:
                if (TensorLayers.handles(n.opType()))
                {
                    TensorLayers.lower(l, n);
                    break;
                }
                throw new IllegalArgumentException("unsupported operator " + n.opType());
        }
    }

    private static int[] ints(final Node n, final String attribute, final int count)
    {
        final long[] v = n.attrInts(attribute, null);
        if (v == null || v.length != count)
        {
            throw new IllegalArgumentException("attribute " + attribute + " must have " + count + " values, has " +
                (v == null ? "none" : Arrays.toString(v)));
        }
        final int[] out = new int[count];
        for (int i = 0; i < count; i++)
        {
            out[i] = Math.toIntExact(v[i]);
        }
        return out;
    }

    private static void conv(final Lowering l, final Node n)
    {
        final boolean transposed = n.opType().equals("ConvTranspose");
        final Value in = l.value(n.input(0));
        final ConstTensor w = l.constant(n.input(1));
        final long[] wd = w.dims();
        if (wd.length != 4)
        {
            throw new IllegalArgumentException("weights must be 4-D, are " + Arrays.toString(wd));
        }
        final int group = (int)n.attrInt("group", 1);
        final int[] k = ints(n, "kernel_shape", 2);
        final int[] s = ints(n, "strides", 2);
        final int[] d = ints(n, "dilations", 2);
        final int[] p = ints(n, "pads", 4);
        final MapShape image = in.imageShape();
        final int inC = image.channels();
        final int outC = transposed ? (int)wd[1] * group : (int)wd[0];
        final ConvParams.Builder b = transposed ?
            ConvParams.transpose(inC, outC, k[0], k[1]) : ConvParams.conv(inC, outC, k[0], k[1]);
        b.groups(group).stride(s[0], s[1]).dilation(d[0], d[1]).pads(p[0], p[1], p[2], p[3]);
        if (transposed)
        {
            final int[] op = ints(n, "output_padding", 2);
            b.outputPadding(op[0], op[1]);
        }
        final ConvParams params = b.build();
        final float[] bias = n.input(2).isEmpty() ? null : l.constant(n.input(2)).floats();
        Fusion.Fused fused = Fusion.activation(l, n);
        Value residual = null;
        if (!transposed && fused.suffix().isEmpty())
        {
            final Fusion.Residual r = Fusion.residual(l, n);
            if (r != null)
            {
                residual = r.operand();
                fused = r.fused();
            }
        }
        fused = Fusion.affine(l, fused);
        final List<Value> inputs = residual == null ? List.of(in) : List.of(in, residual);
        final int height = image.height();
        final boolean winograd = !transposed && l.winograd() &&
            WinogradConv2d.preferred(params, params.outputHeight(height), params.outputWidth(image.width()));
        final String kind = transposed ? "ConvTranspose" : params.isDepthwise() ? "DepthwiseConv" :
            winograd ? "WinogradConv" : "Conv";
        final LayerKind plannerKind = transposed ? LayerKind.CONV_TRANSPOSED :
            params.groups() > 1 ? LayerKind.DEPTHWISE :
            params.strideH() > 1 || params.strideW() > 1 ? LayerKind.CONV_STRIDED :
            params.kernelH() == 1 && params.kernelW() == 1 ? LayerKind.CONV_1X1 :
            params.kernelH() == 3 && params.kernelW() == 3 && params.dilationH() == 1 && params.dilationW() == 1 ?
            LayerKind.CONV_3X3 : LayerKind.CONV_LARGE;
        if (!l.runsNextLayer())
        {
            // the rows it reads must be the running kernel's, since other devices plan and send by them
            final Value out = l.newOutput(fused.output());
            final ImageBatch.ImageSpan span = (o0, o1) -> winograd ?
                RowRange.of(WinogradConv2d.firstInputRow(params, o0, o1, height),
                    WinogradConv2d.endInputRow(params, o0, o1, height)) :
                RowRange.of(params.firstInputRowClipped(o0, o1, height), params.endInputRowClipped(o0, o1, height));
            final int outHeight = out.imageShape().height();
            l.add(new IdleLayer(n.name(), kind + fused.suffix(), inputs, out,
                out.images() * ConvLayer.flops(params, image, out.imageShape()),
                (j, rows) -> j == 1 ? rows : ImageBatch.inputRows(rows, outHeight, height, span), false)
                .kind(plannerKind), 4L * w.size());
            return;
        }
        final ConvKernel kernel = transposed ?
            ConvKernel.createTranspose(params, w.floats(), bias, fused.activation(), l.memory()) :
            winograd ? new WinogradConv2d(params, w.floats(), bias, fused.activation(), l.memory()) :
            ConvKernel.create(params, w.floats(), bias, fused.activation(), l.memory());
        final Value out = l.newOutput(fused.output());
        checkShape(n, out, params.outputHeight(height), params.outputWidth(image.width()), outC);
        l.add(new ConvLayer(n.name(), kind + fused.suffix(), kernel, in, residual, out).kind(plannerKind),
            4L * w.size());
    }

    private static void checkShape(final Node n, final Value out, final int h, final int w, final int c)
    {
        final MapShape s = out.imageShape();
        if (s.height() != h || s.width() != w || s.channels() != c)
        {
            throw new IllegalArgumentException("kernel computes " + h + "x" + w + "x" + c + " but the graph says " +
                s);
        }
    }

    private static void pool(final Lowering l, final Node n)
    {
        final Value in = l.value(n.input(0));
        final int[] k = ints(n, "kernel_shape", 2);
        final int[] s = ints(n, "strides", 2);
        final int[] p = ints(n, "pads", 4);
        final boolean max = n.opType().equals("MaxPool");
        final int[] d = max && n.has("dilations") ? ints(n, "dilations", 2) : new int[] {1, 1};
        if (max && n.outputs().size() > 1 && !n.output(1).isEmpty())
        {
            throw new IllegalArgumentException("MaxPool Indices output is not supported");
        }
        final PoolParams params = new PoolParams(k[0], k[1], s[0], s[1], d[0], d[1], p[0], p[1], p[2], p[3],
            n.attrInt("ceil_mode", 0) != 0, n.attrInt("count_include_pad", 0) != 0);
        final Pooling kernel = max ? Pooling.max(params) : Pooling.average(params);
        final Value out = l.newOutput(n.output(0));
        final MapShape image = in.imageShape();
        checkShape(n, out, params.outputHeight(image.height()), params.outputWidth(image.width()),
            image.channels());
        final int inH = image.height();
        l.add(new RowLayer(n.name(), n.opType(), kernel::forward,
            (o0, o1) -> RowRange.of(params.firstInputRowClipped(o0, o1, inH), params.endInputRowClipped(o0, o1, inH)),
            (long)out.shape().size() * k[0] * k[1], in, out), 0);
    }

    private static void globalPool(final Lowering l, final Node n)
    {
        final Value in = l.value(n.input(0));
        final GlobalPooling kernel = new GlobalPooling(n.opType().equals("GlobalMaxPool") ?
            GlobalPooling.Kind.MAX : GlobalPooling.Kind.AVERAGE);
        final Value out = l.newOutput(n.output(0));
        checkShape(n, out, 1, 1, in.shape().channels());
        l.add(new GlobalPoolLayer(n.name(), n.opType(), kernel, in, out), 0);
    }

    private static void rowOp(final Lowering l, final Node n, final String opType, final RowLayer.RowKernel kernel,
        final long flopsPerElement)
    {
        rowOp(l, n, opType, kernel, null, flopsPerElement);
    }

    private static void rowOp(final Lowering l, final Node n, final String opType, final RowLayer.RowKernel kernel,
        final RowLayer.RowSpan span, final long flopsPerElement)
    {
        final Value in = l.value(n.input(0));
        final Value out = l.newOutput(n.output(0));
        l.add(new RowLayer(n.name(), opType, kernel, span, Math.max(1, flopsPerElement) * out.shape().size(), in, out),
            0);
    }

    /**
     * @return the slope per channel, or one value for all. ONNX broadcasts the slope against the input from the
     * right (numpy), so a slope of dims {@code [C]} on an NCHW map runs along W, not along the channels.
     */
    private static float[] preluSlope(final Lowering l, final Node n)
    {
        final ConstTensor slope = l.constant(n.input(1));
        final long[] x = l.dims(n.input(0));
        final long[] d = slope.dims();
        final int channelAxis = x.length == 4 ? 1 : x.length - 1;
        for (int i = 0; i < d.length; i++)
        {
            final int axis = i + x.length - d.length;
            if (d[i] != 1 && axis != channelAxis)
            {
                throw new IllegalArgumentException("slope " + Arrays.toString(d) + " varies along axis " + axis +
                    " of input " + Arrays.toString(x) + "; only a per-channel or single slope is supported");
            }
        }
        return slope.floats();
    }

    private static void elementwise(final Lowering l, final Node n)
    {
        final Elementwise.Op op = Elementwise.Op.valueOf(n.opType().toUpperCase(Locale.ROOT));
        final int rank = l.dims(n.output(0)).length;
        // x * s + x in one pass: the map operand x first, the Add's result the layer's output
        final Fusion.SelfAdd selfAdd = op == Elementwise.Op.MUL ? Fusion.selfAdd(l, n) : null;
        final String an = selfAdd == null || selfAdd.operand().equals(n.input(0)) ? n.input(0) : n.input(1);
        final String bn = an.equals(n.input(0)) ? n.input(1) : n.input(0);
        final Value a = l.isConstant(an) ? null : l.value(an);
        final Value b = l.isConstant(bn) ? null : l.value(bn);
        if (a == null && b == null)
        {
            throw new IllegalArgumentException("both operands are constants (should have been folded)");
        }
        for (final String operand : List.of(an, bn))
        {
            if (!l.isConstant(operand) && l.dims(operand).length != rank)
            {
                throw new IllegalArgumentException("operand '" + operand + "' of rank " + l.dims(operand).length +
                    " broadcast to rank " + rank + " is not supported");
            }
        }
        final MapView constA = a == null ? constantView(l, an, rank) : null;
        final MapView constB = b == null ? constantView(l, bn, rank) : null;
        final Fusion.Fused fused = Fusion.activation(l, selfAdd == null ? n : selfAdd.add());
        final Value out = l.newOutput(fused.output());
        final long constBytes = (constA != null ? 4L * constA.region().length() : 0) +
            (constB != null ? 4L * constB.region().length() : 0);
        l.add(new ElementwiseLayer(n.name(), n.opType() + (selfAdd == null ? "" : "+Add") + fused.suffix(),
            new Elementwise(op, fused.activation(), selfAdd != null), a, constA, b, constB, out), constBytes);
    }

    private static MapView constantView(final Lowering l, final String name, final int rank)
    {
        final Lowering.ConstOperand c = l.nhwcConstant(l.constant(name), rank);
        return MapView.of(c.region(), 0, c.shape().height(), c.shape().width(), c.shape().channels());
    }

    private static void concat(final Lowering l, final Node n)
    {
        final int rank = l.dims(n.output(0)).length;
        final long axis = n.attrInt("axis", 1);
        final long normalized = axis < 0 ? axis + rank : axis;
        if (normalized != 1 || (rank != 4 && rank != 2))
        {
            throw new IllegalArgumentException("Concat only along channels (axis 1 of a rank 4 or 2 tensor), got axis " +
                axis + " of rank " + rank);
        }
        final List<Value> ins = new ArrayList<>();
        final int[] channels = new int[n.inputs().size()];
        for (int i = 0; i < channels.length; i++)
        {
            final Value v = l.value(n.input(i));
            ins.add(v);
            channels[i] = v.shape().channels();
        }
        final Value out = l.newOutput(n.output(0));
        l.add(new ConcatLayer(n.name(), new Concat(channels), ins, out), 0);
    }

    private static void fullyConnected(final Lowering l, final Node n)
    {
        final boolean gemm = n.opType().equals("Gemm");
        final Value in = l.value(n.input(0));
        final long[] inDims = l.dims(n.input(0));
        if (inDims.length != 2 || inDims[0] != 1)
        {
            throw new IllegalArgumentException("input must be a [1, K] matrix, is " + Arrays.toString(inDims));
        }
        if (gemm && n.attrInt("transA", 0) != 0)
        {
            throw new IllegalArgumentException("Gemm transA = 1 is not supported");
        }
        final ConstTensor bt = l.constant(n.input(1));
        final long[] bd = bt.dims();
        final boolean transB = gemm && n.attrInt("transB", 0) != 0;
        if (bd.length != 2)
        {
            throw new IllegalArgumentException("weights must be 2-D, are " + Arrays.toString(bd));
        }
        final int k = (int)(transB ? bd[1] : bd[0]);
        final int nOut = (int)(transB ? bd[0] : bd[1]);
        if (k != inDims[1])
        {
            throw new IllegalArgumentException("input has " + inDims[1] + " features, weights expect " + k);
        }
        if (!l.runsNextLayer())
        {
            final Fusion.Fused fused = Fusion.activation(l, n);
            l.add(new IdleLayer(n.name(), n.opType() + fused.suffix(), List.of(in), l.newOutput(fused.output()),
                2L * k * nOut, (j, rows) -> RowRange.of(0, in.shape().height()), true)
                .kind(LayerKind.FULLY_CONNECTED), 4L * k * nOut, 0);
            return;
        }
        final RowRange slice = l.nextLayerFeatures();
        final int n0 = slice == null ? 0 : slice.start();
        final int n1 = slice == null ? nOut : slice.end();
        if (n0 < 0 || n1 <= n0 || n1 > nOut)
        {
            throw new IllegalArgumentException("feature slice " + slice + " outside the " + nOut + " outputs");
        }
        final float[] weights = bt.floats();
        final MapShape flattened = l.flattenedFrom(n.input(0));
        final int[] order = flattened == null ? null : flattenOrder(flattened);
        final Fusion.Fused fused = Fusion.activation(l, n);
        final FullyConnected kernel;
        if (gemm)
        {
            final float[] c = n.input(2).isEmpty() ? null : l.constant(n.input(2)).floats();
            kernel = FullyConnected.gemm(weights, k, nOut, transB, n.attrFloat("alpha", 1f), c,
                n.attrFloat("beta", 1f), fused.activation(), n0, n1, order, l.memory());
        }
        else
        {
            kernel = FullyConnected.gemm(weights, k, nOut, false, 1f, null, 1f, fused.activation(), n0, n1, order,
                l.memory());
        }
        final Value out = l.newOutput(fused.output());
        l.add(new FullyConnectedLayer(n.name(), n.opType() + fused.suffix(), kernel, in, out)
            .kind(LayerKind.FULLY_CONNECTED), 4L * k * nOut, 4L * k * (n1 - n0));
    }

    /**
     * The input is a map (H, W, C) held in NHWC order but indexed by the model in NCHW flatten order: the feature held
     * at {@code (y*W + x)*C + c} is the model's {@code c*H*W + y*W + x}, the weight row the layer must read for it.
     */
    static int[] flattenOrder(final MapShape map)
    {
        final int h = map.height();
        final int wd = map.width();
        final int c = map.channels();
        final int hw = h * wd;
        final int[] order = new int[hw * c];
        for (int pos = 0; pos < hw; pos++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                order[pos * c + ch] = ch * hw + pos;
            }
        }
        return order;
    }

    private static void softmax(final Lowering l, final Node n)
    {
        final long[] dims = l.dims(n.input(0));
        final long axis = n.attrInt("axis", 1);
        final boolean coerce = n.attrInt("coerce2d", 0) != 0;
        final Value in = l.value(n.input(0));
        final MapShape s = in.imageShape();
        final boolean overChannels = (dims.length == 2 && axis == 1) ||
            (dims.length == 4 && axis == 1 && (!coerce || s.height() * s.width() == 1)) ||
            (dims.length == 1 && axis == 0);
        if (!overChannels)
        {
            throw new IllegalArgumentException("Softmax over axis " + axis + " of " + Arrays.toString(dims) +
                (coerce ? " (opset < 13 flattening)" : "") + " is not supported; only over channels");
        }
        rowOp(l, n, "Softmax", new Softmax()::forward, 3);
    }

    private static void resize(final Lowering l, final Node n)
    {
        final Value in = l.value(n.input(0));
        final float[] scales = n.attrFloats("scales", null);
        final long[] sizes = n.attrInts("sizes", null);
        if (scales == null || sizes == null || scales.length != 4 || sizes.length != 4)
        {
            throw new IllegalArgumentException("Resize needs 4 scales and 4 sizes");
        }
        final Resize.Mode mode = Resize.Mode.valueOf(n.attrString("mode", "nearest").toUpperCase(Locale.ROOT));
        final Resize.CoordinateMode coord = coordinateMode(n.attrString("coordinate_transformation_mode",
            "half_pixel"));
        final Resize.NearestMode nearest = nearestMode(n.attrString("nearest_mode", "round_prefer_floor"));
        final Resize kernel = new Resize(mode, coord, nearest, in.imageShape().height(), in.imageShape().width(),
            (int)sizes[2], (int)sizes[3], scales[2], scales[3]);
        rowOp(l, n, "Resize", kernel::forward,
            (o0, o1) -> RowRange.of(kernel.firstInputRow(o0, o1), kernel.endInputRow(o0, o1)),
            mode == Resize.Mode.LINEAR ? 4 : 1);
    }

    /** @return the kernel's mode for an ONNX {@code coordinate_transformation_mode}. */
    private static Resize.CoordinateMode coordinateMode(final String onnxName)
    {
        switch (onnxName)
        {
            case "half_pixel":
                return Resize.CoordinateMode.HALF_PIXEL;
            case "pytorch_half_pixel":
                return Resize.CoordinateMode.PYTORCH_HALF_PIXEL;
            case "align_corners":
                return Resize.CoordinateMode.ALIGN_CORNERS;
            case "asymmetric":
                return Resize.CoordinateMode.ASYMMETRIC;
            case "tf_half_pixel_for_nn":
                return Resize.CoordinateMode.TF_HALF_PIXEL_FOR_NEAREST;
            default:
                throw new IllegalArgumentException("coordinate_transformation_mode '" + onnxName +
                    "' is not supported");
        }
    }

    /** @return the kernel's mode for an ONNX {@code nearest_mode}. */
    private static Resize.NearestMode nearestMode(final String onnxName)
    {
        switch (onnxName)
        {
            case "round_prefer_floor":
                return Resize.NearestMode.ROUND_PREFER_FLOOR;
            case "round_prefer_ceil":
                return Resize.NearestMode.ROUND_PREFER_CEIL;
            case "floor":
                return Resize.NearestMode.FLOOR;
            case "ceil":
                return Resize.NearestMode.CEIL;
            default:
                throw new IllegalArgumentException("nearest_mode '" + onnxName + "' is not supported");
        }
    }

    private static void pad(final Lowering l, final Node n)
    {
        final Value in = l.value(n.input(0));
        final long[] pads = n.attrInts("pads", null);
        if (pads == null || pads.length != 8 || pads[0] != 0 || pads[4] != 0)
        {
            throw new IllegalArgumentException("Pad needs 8 pads with none on the batch: " + Arrays.toString(pads));
        }
        final Pad.Mode mode = Pad.Mode.valueOf(n.attrString("mode", "constant").toUpperCase(Locale.ROOT));
        final MapShape s = in.imageShape();
        final Pad kernel = new Pad(mode, n.attrFloat("value", 0f), s.height(), s.width(), s.channels(),
            (int)pads[2], (int)pads[3], (int)pads[6], (int)pads[7], (int)pads[1], (int)pads[5]);
        rowOp(l, n, "Pad", kernel::forward,
            (o0, o1) -> RowRange.of(kernel.firstInputRow(o0, o1), kernel.endInputRow(o0, o1)), 0);
    }

    private static void reshape(final Lowering l, final Node n)
    {
        final Value in = l.value(n.input(0));
        final String outName = n.output(0);
        final long[] outDims = l.dims(outName);
        final MapShape outShape = Lowering.toMapShape(outDims, "value '" + outName + "'");
        final MapShape source = l.flattenedFrom(n.input(0)) != null ? l.flattenedFrom(n.input(0)) : in.shape();
        final int outImages = Lowering.imagesOf(outDims);
        final MapShape outImage = new MapShape(outShape.height() / outImages, outShape.width(), outShape.channels());
        final MapShape sourceImage = in.images() == 1 ? source : in.imageShape();
        // NHWC memory is the NCHW order where every image has one pixel or one channel (images outermost in both)
        if (isChannelOrdered(sourceImage) && isChannelOrdered(outImage))
        {
            l.alias(outName, in, outShape, null);
            return;
        }
        if (outDims.length <= 2 && allFullyConnected(l, outName))
        {
            l.alias(outName, in, outShape, source);
            return;
        }
        final Value out = l.newOutput(outName);
        l.add(new ReshapeLayer(n.name(), in, sourceImage, out), 0);
    }

    /** NHWC memory order equals NCHW order when the map has one pixel or one channel. */
    private static boolean isChannelOrdered(final MapShape s)
    {
        return s.height() * s.width() == 1 || s.channels() == 1;
    }

    private static boolean allFullyConnected(final Lowering l, final String value)
    {
        final List<Node> readers = l.consumersOf(value);
        if (readers.isEmpty() || l.isGraphOutput(value))
        {
            return false;
        }
        for (final Node r : readers)
        {
            final boolean fc = (r.opType().equals("Gemm") || r.opType().equals("MatMul")) && PathChoice.fastPath(l, r);
            if (!fc || !r.input(0).equals(value))
            {
                return false;
            }
        }
        return true;
    }
}
