package org.coedge.engine.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Normalizes Resize and Upsample (every opset) into one Resize with explicit mode, coordinate transformation,
 * nearest mode and constant scales or sizes, with the older forms (Upsample's {@code height_scale} /
 * {@code width_scale} and {@code scales} attributes, Resize-10's two inputs) mapped onto it.
 * <p>
 * Owned by one {@link OperatorNormalizer}, on its thread.
 */
final class ResizeNormalizer
{
    private final OperatorNormalizer base;
    private final int opset;

    ResizeNormalizer(final OperatorNormalizer base, final int opset)
    {
        this.base = base;
        this.opset = opset;
    }

    Node normalize(final Node n)
    {
        final long[] x = base.map(n, "only NCHW input is supported");
        final boolean legacy = "Upsample".equals(n.opType()) || opset < 11;
        final String mode = n.attrString("mode", "nearest");
        final boolean cubic = "cubic".equals(mode) && !legacy;
        if (!"nearest".equals(mode) && !"linear".equals(mode) && !"bilinear".equals(mode) && !cubic)
        {
            throw ModelException.at(n, "mode '" + mode + "' is not supported (nearest, linear and cubic are)");
        }
        if (n.attrInt("antialias", 0) != 0)
        {
            throw ModelException.at(n, "antialias is not supported");
        }
        if (!"stretch".equals(n.attrString("keep_aspect_ratio_policy", "stretch")))
        {
            throw ModelException.at(n, "keep_aspect_ratio_policy '" + n.attrString("keep_aspect_ratio_policy", "") +
                "' is not supported");
        }
        float[] scales = null;
        long[] sizes = null;
        if (legacy)
        {
            if ("Upsample".equals(n.opType()) && opset < 7)
            {
                scales = new float[]{1f, 1f, n.attrFloat("height_scale", 1f), n.attrFloat("width_scale", 1f)};
            }
            else
            {
                scales = "Upsample".equals(n.opType()) && opset < 9 ? n.attrFloats("scales", null) :
                    base.constant(n, 1, "the scales").floats().clone();
            }
            if (scales == null)
            {
                throw ModelException.at(n, "the scales are missing");
            }
        }
        else
        {
            final ConstTensor sc = base.optionalConstant(n, 2, "the scales");
            final ConstTensor sz = base.optionalConstant(n, 3, "the sizes");
            if (sc != null && sc.size() > 0)
            {
                scales = sc.floats().clone();
            }
            if (sz != null && sz.size() > 0)
            {
                sizes = sz.longs().clone();
            }
            if ((scales == null) == (sizes == null))
            {
                throw ModelException.at(n, "exactly one of scales and sizes must be given");
            }
            final long[] axes = n.attrInts("axes", null);
            if (axes != null)
            {
                scales = scales == null ? null : expandToRank(n, scales, axes, x);
                sizes = sizes == null ? null : expandToRank(n, sizes, axes, x);
            }
        }
        final int rank = x.length;
        if ((scales != null && scales.length != rank) || (sizes != null && sizes.length != rank))
        {
            throw ModelException.at(n, "scales / sizes must have one value per dim of input " + Dims.str(x));
        }
        if (sizes == null)
        {
            sizes = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                sizes[i] = (long)Math.floor(x[i] * scales[i]);
            }
        }
        else
        {
            scales = new float[rank];
            for (int i = 0; i < rank; i++)
            {
                scales[i] = (float)sizes[i] / (float)x[i];
            }
        }
        if (sizes[0] != x[0] || sizes[1] != x[1])
        {
            throw ModelException.at(n, "scaling the batch or channel dim is not supported (scales " +
                Arrays.toString(scales) + ", input " + Dims.str(x) + ")");
        }
        final String coordinates;
        final String nearest;
        if (legacy)
        {
            coordinates = "asymmetric";
            nearest = legacyNearestMode(n, scales);
        }
        else
        {
            coordinates = n.attrString("coordinate_transformation_mode", "half_pixel");
            nearest = n.attrString("nearest_mode", "round_prefer_floor");
            if ("tf_crop_and_resize".equals(coordinates))
            {
                throw ModelException.at(n, "coordinate_transformation_mode tf_crop_and_resize is not supported");
            }
        }
        final Map<String, Attribute> extra = OperatorNormalizer.attrs(
            Attribute.ofFloat("cubic_coeff_a", n.attrFloat("cubic_coeff_a", -0.75f)),
            Attribute.ofInt("exclude_outside", n.attrInt("exclude_outside", 0)));
        if (cubic)
        {
            extra.put("nd", Attribute.ofInt("nd", 1));
        }
        final Map<String, Attribute> all = OperatorNormalizer.attrs(
            Attribute.ofString("mode", "bilinear".equals(mode) ? "linear" : mode),
            Attribute.ofString("coordinate_transformation_mode", coordinates),
            Attribute.ofString("nearest_mode", nearest), Attribute.ofFloats("scales", scales),
            Attribute.ofInts("sizes", sizes));
        all.putAll(extra);
        return base.emit(n, "Resize", List.of(n.input(0)), all, sizes);
    }

    /**
     * Upsample and opset-10 Resize pick the nearest pixel by truncating the source coordinate when enlarging and by
     * rounding it up when shrinking (ONNX Runtime's "simple" mode); in ONNX terms that is floor and ceil.
     */
    private static String legacyNearestMode(final Node n, final float[] scales)
    {
        boolean up = false;
        boolean down = false;
        for (final float s : scales)
        {
            up |= s > 1;
            down |= s < 1;
        }
        if (up && down)
        {
            throw ModelException.at(n, "scales " + Arrays.toString(scales) + " both enlarge and shrink; not supported");
        }
        return down ? "ceil" : "floor";
    }

    private static float[] expandToRank(final Node n, final float[] given, final long[] axes, final long[] x)
    {
        final float[] out = new float[x.length];
        Arrays.fill(out, 1f);
        if (given.length != axes.length)
        {
            throw ModelException.at(n, "scales " + Arrays.toString(given) + " do not match axes " +
                Arrays.toString(axes));
        }
        for (int i = 0; i < axes.length; i++)
        {
            out[Dims.axis(n, axes[i], x.length)] = given[i];
        }
        return out;
    }

    private static long[] expandToRank(final Node n, final long[] given, final long[] axes, final long[] x)
    {
        final long[] out = x.clone();
        if (given.length != axes.length)
        {
            throw ModelException.at(n, "sizes " + Arrays.toString(given) + " do not match axes " +
                Arrays.toString(axes));
        }
        for (int i = 0; i < axes.length; i++)
        {
            out[Dims.axis(n, axes[i], x.length)] = given[i];
        }
        return out;
    }
}
