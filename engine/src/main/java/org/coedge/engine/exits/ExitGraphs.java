package org.coedge.engine.exits;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Cuts a multi-exit graph down to what one exit needs: the nodes that are ancestors of the exit's output, nothing
 * after the branch it leaves by and none of the other exits' branches.
 * <p>
 * This is what the planner plans for a request that leaves at exit {@code k}: prepare {@link #pruneTo}'s graph (through
 * {@code Model.forOutput}) and describe it with {@code PlanGraphs.of}, and the plan covers exactly the layers that
 * exit computes. A session that serves every exit from one set of weights does not prune the graph but runs a subset
 * of one prepared program ({@code PreparedModel.layersFor}, {@code Session.runFor}). Stateless; cold path, any
 * thread.
 */
public final class ExitGraphs
{
    private ExitGraphs()
    {
    }

    /**
     * @param graph  an imported or folded graph.
     * @param output one of its graph outputs.
     * @return the graph with {@code output} as its only output and only the nodes (in their order) and constants
     * {@code output} depends on; the runtime inputs stay as they were, in their order, so a caller passes the same
     * inputs whichever exit it asks for.
     * @throws ModelException if {@code output} is not an output of the graph.
     */
    public static Graph pruneTo(final Graph graph, final String output)
    {
        if (!graph.outputs().contains(output))
        {
            throw new ModelException("'" + output + "' is not an output of model '" + graph.name() + "' (its " +
                "outputs: " + graph.outputs() + ")");
        }
        final boolean[] keep = ancestors(graph, output);
        final List<Node> nodes = new ArrayList<>();
        final Set<String> used = new HashSet<>();
        for (int i = 0; i < keep.length; i++)
        {
            if (keep[i])
            {
                final Node n = graph.nodes().get(i);
                nodes.add(n);
                used.addAll(n.inputs());
            }
        }
        used.add(output);
        final Map<String, ConstTensor> constants = new LinkedHashMap<>();
        for (final Map.Entry<String, ConstTensor> e : graph.constants().entrySet())
        {
            if (used.contains(e.getKey()))
            {
                constants.put(e.getKey(), e.getValue());
            }
        }
        return new Graph(graph.name(), graph.opsetVersion(), graph.inputs(), List.of(output), nodes, constants,
            graph.shapes(), graph.integerInputs());
    }

    /**
     * @return the names of the nodes {@code output} depends on, in graph order: what a planner or a report needs to
     * know which part of the graph an exit runs.
     * @throws ModelException if {@code output} is not an output of the graph.
     */
    public static List<String> nodesFor(final Graph graph, final String output)
    {
        if (!graph.outputs().contains(output))
        {
            throw new ModelException("'" + output + "' is not an output of model '" + graph.name() + "'");
        }
        final boolean[] keep = ancestors(graph, output);
        final List<String> names = new ArrayList<>();
        for (int i = 0; i < keep.length; i++)
        {
            if (keep[i])
            {
                names.add(graph.nodes().get(i).name());
            }
        }
        return Collections.unmodifiableList(names);
    }

    /** @return for each node of {@code graph}, whether {@code output} depends on it. */
    private static boolean[] ancestors(final Graph graph, final String output)
    {
        final List<Node> all = graph.nodes();
        final Map<String, Integer> producer = new LinkedHashMap<>();
        for (int i = 0; i < all.size(); i++)
        {
            for (final String out : all.get(i).outputs())
            {
                if (!out.isEmpty())
                {
                    producer.put(out, i);
                }
            }
        }
        final boolean[] keep = new boolean[all.size()];
        final ArrayDeque<String> pending = new ArrayDeque<>();
        pending.add(output);
        final Set<String> seen = new HashSet<>();
        while (!pending.isEmpty())
        {
            final String value = pending.poll();
            final Integer node = producer.get(value);
            if (!seen.add(value) || node == null || keep[node])
            {
                continue;
            }
            keep[node] = true;
            for (final String in : all.get(node).inputs())
            {
                if (!in.isEmpty())
                {
                    pending.add(in);
                }
            }
        }
        return keep;
    }
}
