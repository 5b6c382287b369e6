package org.coedge.engine.exec;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;
import org.coedge.kernels.Activation;

/**
 * What a layer being lowered absorbs of the operators after it: a pointwise activation, a residual {@code Add} (and
 * the activation after it), a scalar {@code Mul} and {@code Add} as the activation's affine tail. Each absorbed node
 * is marked on the {@link Lowering}, which then lowers no layer of its own for it. Called by {@link LayerFactory} on
 * the lowering's thread.
 */
final class Fusion
{
    private static final Set<String> FUSABLE = Set.of(
        "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh");

    private Fusion()
    {
    }

    /**
     * If the only consumer of {@code producer}'s output is a pointwise activation (and the output is not a graph
     * output), absorbs that node so the producer applies it.
     *
     * @return the activation and the name of the value the fused layer writes.
     */
    static Fused activation(final Lowering l, final Node producer)
    {
        final String out = producer.output(0);
        final List<Node> readers = l.consumersOf(out);
        if (readers.size() == 1 && !l.isGraphOutput(out) && FUSABLE.contains(readers.get(0).opType()))
        {
            final Node act = readers.get(0);
            l.absorb(act);
            return new Fused(of(act), act.output(0), "+" + act.opType());
        }
        return new Fused(Activation.NONE, out, "");
    }

    /**
     * If the only consumer of convolution {@code producer}'s output is an {@code Add} (and the output is not a graph
     * output) whose other operand is a runtime map of the same dims that an earlier layer already computes, absorbs
     * the Add, and a pointwise activation that is the Add's only consumer, so the convolution adds the operand in its
     * epilogue. The operand is read row for row, so the fused layer's row map for it is the identity.
     *
     * @return the operand and the activation / output the fused layer takes on, or {@code null} if it does not fit.
     */
    static Residual residual(final Lowering l, final Node producer)
    {
        if (!l.residualFusion())
        {
            return null;
        }
        final String out = producer.output(0);
        final Node add = soleReader(l, out, "Add");
        if (add == null || add.inputs().size() != 2 || !PathChoice.fastPath(l, add))
        {
            return null;
        }
        final String other = otherInput(add, out);
        if (other.equals(out) || l.isConstant(other) || !l.hasValue(other) ||
            !Lowering.isMap(l.dims(other)) || !Arrays.equals(l.dims(other), l.dims(out)) ||
            !Arrays.equals(l.dims(add.output(0)), l.dims(out)))
        {
            return null;
        }
        l.absorb(add);
        final Fused act = activation(l, add);
        return new Residual(l.value(other), new Fused(act.activation(), act.output(), "+Add" + act.suffix()));
    }

    /**
     * After what a convolution already absorbed ({@code fused}), absorbs a {@code Mul} by a scalar constant that is
     * the only reader of its output, then likewise an {@code Add} of one (or just the {@code Add}), into the
     * activation's affine tail: PP-OCR's learnable affine blocks, {@code act(conv) * s + b}, then cost no passes
     * over the map of their own. A value that is a graph output, or read by more than the one operator, stays.
     *
     * @return {@code fused} with the tail and the new output, or {@code fused} itself if nothing follows that fits.
     */
    static Fused affine(final Lowering l, final Fused fused)
    {
        if (!l.affineFusion())
        {
            return fused;
        }
        String out = fused.output();
        float scale = 1f;
        float shift = 0f;
        final StringBuilder suffix = new StringBuilder(fused.suffix());
        for (final String op : new String[]{"Mul", "Add"})
        {
            final Node n = scalarOperation(l, out, op);
            if (n == null)
            {
                continue;
            }
            final float value = l.constant(otherInput(n, out)).floats()[0];
            if (op.equals("Mul"))
            {
                scale = value;
            }
            else
            {
                shift = value;
            }
            l.absorb(n);
            suffix.append('+').append(op);
            out = n.output(0);
        }
        return out.equals(fused.output()) ? fused :
            new Fused(fused.activation().withAffine(scale, shift), out, suffix.toString());
    }

    /**
     * @return the only reader of {@code value} if it is {@code op} of {@code value} and a float scalar constant with
     * {@code value}'s dims, and {@code value} is not a graph output; null otherwise.
     */
    private static Node scalarOperation(final Lowering l, final String value, final String op)
    {
        final Node n = soleReader(l, value, op);
        if (n == null || n.inputs().size() != 2 || n.outputs().size() != 1 || n.input(0).equals(n.input(1)))
        {
            return null;
        }
        final String other = otherInput(n, value);
        final ConstTensor c = l.isConstant(other) ? l.constant(other) : null;
        if (c == null || !c.isFloat() || c.size() != 1 || !Float.isFinite(c.floats()[0]) ||
            !Arrays.equals(l.dims(n.output(0)), l.dims(value)))
        {
            return null;
        }
        return n;
    }

    /**
     * If {@code mul}'s result is read only by an {@code Add} of that result and one of the {@code Mul}'s own operands,
     * a runtime map of the output's dims ({@code x + x * s}: the residual of PP-OCR's squeeze and excitation blocks),
     * absorbs the Add so the Mul's layer adds it in the same pass.
     *
     * @return the Add and the Mul's operand it adds (the map), or null if the pattern does not hold.
     */
    static SelfAdd selfAdd(final Lowering l, final Node mul)
    {
        if (!l.affineFusion() || mul.inputs().size() != 2)
        {
            return null;
        }
        final String out = mul.output(0);
        final Node add = soleReader(l, out, "Add");
        if (add == null || add.inputs().size() != 2 || add.input(0).equals(add.input(1)))
        {
            return null;
        }
        final String other = otherInput(add, out);
        if (!mul.inputs().contains(other) || mul.input(0).equals(mul.input(1)) || l.isConstant(other) ||
            !l.hasValue(other) || !Arrays.equals(l.dims(other), l.dims(out)) ||
            !Arrays.equals(l.dims(add.output(0)), l.dims(out)))
        {
            return null;
        }
        l.absorb(add);
        return new SelfAdd(add, other);
    }

    /** A Mul's result added to its own map operand: the Add absorbed and that operand. */
    record SelfAdd(Node add, String operand)
    {
    }

    /** @return the only reader of {@code value} if it is an {@code op} and {@code value} no graph output, else null. */
    private static Node soleReader(final Lowering l, final String value, final String op)
    {
        final List<Node> readers = l.consumersOf(value);
        return readers.size() == 1 && !l.isGraphOutput(value) && op.equals(readers.get(0).opType()) ?
            readers.get(0) : null;
    }

    /** @return the input of two-input node {@code n} that is not {@code value} ({@code value} if both are). */
    private static String otherInput(final Node n, final String value)
    {
        return n.input(0).equals(value) ? n.input(1) : n.input(0);
    }

    /** An Add absorbed into a convolution: the operand it adds and what the fused layer applies and writes. */
    record Residual(Value operand, Fused fused)
    {
    }

    static Activation of(final Node n)
    {
        switch (n.opType())
        {
            case "Relu":
                return Activation.RELU;
            case "LeakyRelu":
                return Activation.leakyRelu(n.attrFloat("alpha", 0.01f));
            case "Clip":
                return Activation.clip(n.attrFloat("min", Float.NEGATIVE_INFINITY),
                    n.attrFloat("max", Float.POSITIVE_INFINITY));
            case "Sigmoid":
                return Activation.of(Activation.Kind.SIGMOID, 0f, 0f);
            case "HardSigmoid":
                return Activation.hardSigmoid(n.attrFloat("alpha", 0.2f), n.attrFloat("beta", 0.5f));
            case "HardSwish":
                return Activation.of(Activation.Kind.HARD_SWISH, 0f, 0f);
            case "Tanh":
                return Activation.of(Activation.Kind.TANH, 0f, 0f);
            default:
                throw ModelException.at(n, "not a pointwise activation");
        }
    }

    /** An activation absorbed into a producer. */
    record Fused(Activation activation, String output, String suffix)
    {
    }
}
